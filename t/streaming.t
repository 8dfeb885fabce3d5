#!/usr/bin/perl

# The streaming API: WebSocket (RFC 6455) and server-sent events from the
# workers.  Who receives update, notification, status.update and delete,
# and who does not (not following, blocking, muting); SSE with a plain
# HTTP client; hostile frames and handshakes refused; a revoked token
# ends its streams; a reload closes the streams cleanly.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Digest::SHA qw(sha1_base64);
use IO::Select;
use MIME::Base64 qw(encode_base64);
use Test::More;
use Time::HiRes qw(time sleep);
use Fedi::Test qw(json_decode json_encode);

my $t = Fedi::Test->new(app_name => 'streaming');
# a second port whose sockets have small send buffers, and little room
# per stream: a client that does not read is soon over its budget
$t->write_default_conf("    fedi_stream_buffer 64k;\n",
    "        listen 127.0.0.1:%%PORT_8081%% sndbuf=4k;\n");
$t->run();

my ($alice, $alice_id) = $t->sign_up('alice');
my ($bob, $bob_id) = $t->sign_up('bob');
my ($carol, $carol_id) = $t->sign_up('carol');
my ($dave, $dave_id) = $t->sign_up('dave');
my ($erin, $erin_id) = $t->sign_up('erin');

$t->post("/api/v1/accounts/$bob_id/follow", token => $alice);
$t->post("/api/v1/accounts/$bob_id/mute", token => $dave);
$t->post("/api/v1/accounts/$bob_id/block", token => $erin);


# ---- a small WebSocket client ----

sub ws_open {
    my (%o) = @_;
    my $s = $t->connect();
    my $key = $o{key} // encode_base64(join('', map { chr int rand 256 } 1 .. 16), '');
    my $path = $o{path} // '/api/v1/streaming';
    my $req = "GET $path HTTP/1.1\r\nHost: " . $t->domain() . "\r\n";
    $req .= "Upgrade: websocket\r\nConnection: Upgrade\r\n"
        unless $o{no_upgrade};
    $req .= "Sec-WebSocket-Key: $key\r\n" if length $key;
    $req .= "Sec-WebSocket-Version: " . ($o{version} // 13) . "\r\n";
    $req .= "Sec-WebSocket-Protocol: $o{protocol}\r\n" if $o{protocol};
    $req .= "Authorization: Bearer $o{token}\r\n" if $o{token};
    $req .= "\r\n";
    $req .= $o{extra} if defined $o{extra};
    $s->syswrite($req);

    my $buf = '';
    my $sel = IO::Select->new($s);
    my $end = time + 10;

    while ($buf !~ /\r\n\r\n/ && time < $end) {
        last unless $sel->can_read($end - time);
        last unless $s->sysread($buf, 65536, length $buf);
    }

    my ($head, $rest) = split /\r\n\r\n/, $buf, 2;
    my ($status) = ($head // '') =~ m{^HTTP/1\.1 (\d+)};
    my %h = map { /^([^:]+):\s*(.*)$/ ? (lc $1, $2) : () }
            split /\r\n/, $head // '';

    return { sock => $s, status => $status // 0, headers => \%h,
             buf => $rest // '', key => $key };
}

sub ws_frame {
    my ($op, $payload, %o) = @_;
    my $len = length $payload;
    my $b0 = (($o{fin} // 1) ? 0x80 : 0) | ($o{rsv} // 0) | $op;
    my $masked = $o{unmasked} ? 0 : 0x80;
    my $f = chr($b0);
    my $l = $o{len} // $len;

    if ($l < 126) {
        $f .= chr($masked | $l);
    } elsif ($l < 65536) {
        $f .= chr($masked | 126) . pack('n', $l);
    } else {
        $f .= chr($masked | 127) . pack('Q>', $l);
    }

    return $f . $payload if $o{unmasked};

    my $mask = pack('N', int rand 0xffffffff);
    my @m = unpack 'C4', $mask;
    my $i = 0;
    my $x = join '', map { chr(ord($_) ^ $m[$i++ % 4]) } split //, $payload;

    return $f . $mask . $x;
}

sub ws_send {
    my ($ws, $op, $payload, %o) = @_;
    local $SIG{PIPE} = 'IGNORE';
    $ws->{sock}->syswrite(ws_frame($op, $payload, %o));
}

sub ws_subscribe {
    my ($ws, %m) = @_;
    ws_send($ws, 1, json_encode({ type => 'subscribe', %m }));
}

# the next frame: [opcode, payload], or undef after $timeout seconds
# (or when the server closed)
sub ws_recv {
    my ($ws, $timeout) = @_;
    my $end = time + ($timeout // 5);
    my $sel = IO::Select->new($ws->{sock});

    while (1) {
        my $b = $ws->{buf};

        if (length $b >= 2) {
            my ($b0, $b1) = unpack 'CC', $b;
            my $len = $b1 & 0x7f;
            my $hl = 2;

            if ($len == 126) {
                $len = length $b >= 4 ? unpack('n', substr $b, 2, 2) : -1;
                $hl = 4;
            } elsif ($len == 127) {
                $len = length $b >= 10 ? unpack('Q>', substr $b, 2, 8) : -1;
                $hl = 10;
            }

            if ($len >= 0 && length $b >= $hl + $len) {
                $ws->{buf} = substr $b, $hl + $len;
                return [$b0 & 0x0f, substr($b, $hl, $len), $b0];
            }
        }

        my $left = $end - time;
        return undef if $left <= 0 || !$sel->can_read($left);
        my $n = $ws->{sock}->sysread($ws->{buf}, 65536, length $ws->{buf});
        if (!$n) {
            $ws->{closed} = 1;
            return undef;
        }
    }
}

# every message until $quiet seconds pass without one, pings answered
sub ws_messages {
    my ($ws, $quiet) = @_;
    my @m;

    while (my $f = ws_recv($ws, $quiet // 1.5)) {
        if ($f->[0] == 1) {
            push @m, json_decode($f->[1]);
        } elsif ($f->[0] == 9) {
            ws_send($ws, 10, $f->[1]);      # as a browser answers pings
        } elsif ($f->[0] == 8) {
            push @m, { close => unpack('n', $f->[1]) };
            last;
        }
    }

    return @m;
}

# messages of one event, payloads decoded
sub of_event {
    my ($ev, @m) = @_;
    return map { my %x = %$_; $x{data} = eval { json_decode($x{payload}) }
                 // $x{payload}; \%x }
           grep { ($_->{event} // '') eq $ev } @m;
}

# an SSE stream with a plain HTTP/1.1 client; returns the socket and the
# bytes after the header
sub sse_open {
    my ($path, $token) = @_;
    my $s = $t->connect();
    $s->syswrite("GET $path HTTP/1.1\r\nHost: " . $t->domain()
                 . "\r\nAuthorization: Bearer $token\r\n\r\n");
    my $c = { sock => $s, buf => '' };
    my $sel = IO::Select->new($s);
    my $end = time + 10;
    while ($c->{buf} !~ /\r\n\r\n/ && time < $end) {
        last unless $sel->can_read($end - time);
        last unless $s->sysread($c->{buf}, 65536, length $c->{buf});
    }
    my ($head, $rest) = split /\r\n\r\n/, $c->{buf}, 2;
    $c->{head} = $head;
    $c->{buf} = $rest // '';
    return $c;
}

# the body so far, chunks decoded
sub sse_read {
    my ($c, $quiet) = @_;
    my $sel = IO::Select->new($c->{sock});
    while ($sel->can_read($quiet // 1.5)) {
        my $n = $c->{sock}->sysread($c->{buf}, 65536, length $c->{buf});
        if (!$n) { $c->{closed} = 1; last }
    }
    my ($raw, $body) = ($c->{buf}, '');
    while ($raw =~ s/^([0-9a-f]+)\r\n//i) {
        my $len = hex $1;
        last if $len == 0;
        $body .= substr $raw, 0, $len, '';
        $raw =~ s/^\r\n//;
    }
    # what came since the last call
    my $new = substr $body, $c->{taken} // 0;
    $c->{taken} = length $body;
    return $new;
}

sub sse_events {
    my ($body) = @_;
    my @e;
    while ($body =~ /event: (\S+)\ndata: (.*)\n\n/g) {
        push @e, { event => $1, data => $2 };
    }
    return @e;
}

sub post_status {
    my ($token, %j) = @_;
    return $t->post('/api/v1/statuses', token => $token, json => \%j)->{json};
}


# ---- health, discovery, handshakes ----

my $r = $t->get('/api/v1/streaming/health');
is($r->{status}, 200, 'health');
is($r->{body}, 'OK', 'health says OK');

$r = $t->get('/api/v2/instance');
like($r->{json}{configuration}{urls}{streaming}, qr{^wss?://},
     'v2 instance advertises the streaming URL');
like($t->get('/api/v1/instance')->{json}{urls}{streaming_api}, qr{^wss?://},
     'v1 too');

my $ws = ws_open();
is($ws->{status}, 401, 'no token: 401');

$ws = ws_open(protocol => 'not-a-token');
is($ws->{status}, 401, 'a bad token: 401');

$ws = ws_open(token => $alice, key => '');
is($ws->{status}, 400, 'a handshake without a key: 400');

$ws = ws_open(token => $alice, key => 'c2hvcnQ=');
is($ws->{status}, 400, 'a key that is not 16 bytes: 400');

$ws = ws_open(token => $alice, version => 8);
is($ws->{status}, 400, 'another version: 400');
is($ws->{headers}{'sec-websocket-version'}, '13', 'which names 13');

$ws = ws_open(token => $alice, no_upgrade => 1);
is($ws->{status}, 400, 'no Upgrade: 400');

$ws = ws_open(token => $alice, path => '/api/v1/streaming?stream=nonsense');
is($ws->{status}, 400, 'an unknown stream: 400');

$r = $t->get('/api/v1/streaming/hashtag', token => $alice);
is($r->{status}, 400, 'a hashtag stream without a tag: 400');
is($r->{json}{error}, 'Missing tag name parameter', "Mastodon's message");

$r = $t->get('/api/v1/streaming/list?list=1', token => $alice);
is($r->{status}, 401, 'a list that is not the viewer\'s: 401');

my $wa = ws_open(protocol => $alice);
is($wa->{status}, 101, 'the token as subprotocol: 101');
is($wa->{headers}{'sec-websocket-accept'},
   sha1_base64($wa->{key} . '258EAFA5-E914-47DA-95CA-C5AB0DC85B11') . '=',
   'Sec-WebSocket-Accept');
is($wa->{headers}{'sec-websocket-protocol'}, $alice,
   'the subprotocol is echoed');
is(lc $wa->{headers}{upgrade}, 'websocket', 'Upgrade: websocket');

# alice: user and public:local on one socket; the subscribe message is
# sent in two fragments
my $sub = json_encode({ type => 'subscribe', stream => 'user' });
ws_send($wa, 1, substr($sub, 0, 10), fin => 0);
ws_send($wa, 9, 'hi');
ws_send($wa, 0, substr($sub, 10));
my $f = ws_recv($wa, 5);
is_deeply([$f->[0], $f->[1]], [10, 'hi'],
          'a ping between fragments gets its pong');
ws_subscribe($wa, stream => 'public:local');

my $wc = ws_open(path => "/api/v1/streaming?stream=user&access_token=$carol");
is($wc->{status}, 101, 'the token as access_token, the stream as ?stream=');
ok(!$wc->{headers}{'sec-websocket-protocol'}, 'no subprotocol to echo');
ws_subscribe($wc, stream => 'hashtag', tag => 'StreamTag');

my $wd = ws_open(token => $dave, path => '/api/v1/streaming?stream=public');
is($wd->{status}, 101, 'dave (who mutes bob) on public');
my $we = ws_open(token => $erin, path => '/api/v1/streaming?stream=public');
is($we->{status}, 101, 'erin (who blocks bob) on public');

# an unknown stream on an open socket: an error frame, the socket stays
ws_subscribe($wd, stream => 'nonsense');
my @m = ws_messages($wd, 1);
is($m[0]{error}, 'Unknown stream type', 'an error frame');
is($m[0]{status}, 400, 'with its status');

my $sse = sse_open('/api/v1/streaming/public', $carol);
like($sse->{head}, qr{^HTTP/1\.1 200}, 'SSE: 200');
like($sse->{head}, qr{Content-Type: text/event-stream}i, 'text/event-stream');
my $ssem = sse_open('/api/v1/streaming/public/media', $carol);
my $ssen = sse_open('/api/v1/streaming/user/notification', $alice);
like($ssen->{head}, qr{^HTTP/1\.1 200}, 'SSE user:notification: 200');

sleep 0.5;

# ---- events ----

my $s1 = post_status($bob, status => 'hello #StreamTag');
ok($s1->{id}, 'bob posts');

@m = ws_messages($wa);
my @u = of_event('update', @m);
is(scalar(grep { $_->{stream}[0] eq 'user' } @u), 1,
   'alice (a follower) gets the update on user');
is(scalar(grep { $_->{stream}[0] eq 'public:local' } @u), 1,
   'and on public:local');
is($u[0]{data}{id}, $s1->{id}, 'the payload is the status');
is(ref $u[0]{payload}, '', 'as a JSON string');
ok(exists $u[0]{data}{favourited}, 'rendered for a viewer');

@m = ws_messages($wc);
my @cu = of_event('update', @m);
is(scalar @cu, 1, 'carol (not following) gets only the hashtag update');
is_deeply($cu[0]{stream}, ['hashtag', 'StreamTag'], 'on ["hashtag","StreamTag"]');

is(scalar(of_event('update', ws_messages($wd, 0.5))), 0,
   'dave, who mutes bob, gets nothing');
is(scalar(of_event('update', ws_messages($we, 0.5))), 0,
   'erin, who blocks bob, gets nothing');

my @se = sse_events(sse_read($sse));
is(scalar(grep { $_->{event} eq 'update' } @se), 1, 'SSE: the update');
is(eval { json_decode($se[0]{data})->{id} }, $s1->{id},
   'SSE data is the entity itself');

# public:media: only statuses with attachments
is(scalar(grep { $_->{event} eq 'update' } sse_events(sse_read($ssem, 0.5))), 0,
   'public:media: not a status without media');
my ($mid) = $t->psql("INSERT INTO media_attachments (account_id, type,"
    . " content_type, file_path, preview_path, processed) VALUES ($bob_id,"
    . " 'image', 'image/jpeg', 'aa/bb/p.jpg', 'aa/bb/p-small.jpg', true)"
    . " RETURNING id") =~ /(\d+)/;
my $sm = post_status($bob, status => 'a picture', media_ids => [$mid]);
is(scalar @{ $sm->{media_attachments} // [] }, 1, 'bob posts a picture');
my @me = grep { $_->{event} eq 'update' } sse_events(sse_read($ssem));
is(scalar @me, 1, 'public:media: the status with an attachment');
is(eval { json_decode($me[0]{data})->{id} }, $sm->{id}, 'that one');
# what the others got of it is not this test's business
ws_messages($_, 0.5) for $wa, $wc, $wd, $we;
sse_read($sse, 0.5);

# a mention: alice's notification
my $s2 = post_status($bob, status => 'hi @alice', visibility => 'unlisted');
@m = ws_messages($wa);
my @n = of_event('notification', @m);
is(scalar @n, 1, 'alice gets a notification');
is($n[0]{data}{type}, 'mention', 'of the mention');
is($n[0]{data}{status}{id}, $s2->{id}, 'with its status');
is(scalar(grep { $_->{stream}[0] eq 'public:local' } of_event('update', @m)),
   0, 'an unlisted status is not on public:local');
@se = sse_events(sse_read($ssen));
is_deeply([map { $_->{event} } @se], ['notification'],
          'user:notification by SSE: the notification only');
is(scalar(of_event('notification', ws_messages($wc, 0.5))), 0,
   'carol gets no notification of alice\'s');

# an edit, then a delete
$r = $t->put("/api/v1/statuses/$s1->{id}", token => $bob,
             json => { status => 'hello again #StreamTag' });
is($r->{status}, 200, 'bob edits');
@m = ws_messages($wa);
my @e = of_event('status.update', @m);
ok(scalar @e >= 1, 'alice gets status.update');
like($e[0]{data}{content}, qr/hello again/, 'with the new text');

$r = $t->delete("/api/v1/statuses/$s1->{id}", token => $bob);
is($r->{status}, 200, 'bob deletes');
@m = ws_messages($wa);
my @d = of_event('delete', @m);
ok(scalar(grep { $_->{stream}[0] eq 'user' } @d) == 1, 'alice gets delete on user');
is($d[0]{payload}, $s1->{id}, 'the payload is the id');
@se = sse_events(sse_read($sse));
is_deeply([map { "$_->{event} $_->{data}" } grep { $_->{event} eq 'delete' } @se],
          ["delete $s1->{id}"], 'SSE public: the delete');

# private: followers only
my $s3 = post_status($bob, status => 'for followers', visibility => 'private');
@m = ws_messages($wa);
is(scalar(grep { $_->{stream}[0] eq 'user' } of_event('update', @m)), 1,
   'a private status reaches a follower');
is(scalar(grep { ($_->{event} // '') eq 'update' } sse_events(sse_read($sse, 1))), 0,
   'but not the public stream');

# following later: the older posts join the feed, unannounced
$t->post("/api/v1/accounts/$bob_id/follow", token => $carol);
is(scalar(grep { $_->{stream}[0] eq 'user' } of_event('update', ws_messages($wc, 1))),
   0, 'a new follower is not sent the older posts');
$t->post("/api/v1/accounts/$bob_id/unfollow", token => $carol);

# unsubscribe
ws_send($wa, 1, json_encode({ type => 'unsubscribe', stream => 'public:local' }));
sleep 0.3;
post_status($bob, status => 'after unsubscribing');
@m = ws_messages($wa);
is(scalar(grep { $_->{stream}[0] eq 'public:local' } @m), 0,
   'unsubscribed: no more public:local');
is(scalar(grep { $_->{stream}[0] eq 'user' } @m), 1, 'user still there');

# a large status: over NOTIFY's 8000 bytes when rendered
$t->psql("UPDATE accounts SET note = repeat('x', 9000) WHERE id = $bob_id");
post_status($bob, status => 'with a long profile');
@m = ws_messages($wa);
ok((grep { length($_->{payload} // '') > 9000 } of_event('update', @m)),
   'an event larger than 8000 bytes arrives');

# the workers' listening connections lost: what was posted meanwhile
# arrives when they are back
$t->psql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
         . " WHERE query LIKE 'LISTEN %'");
my $s6 = post_status($bob, status => 'while nobody listened');
@m = ws_messages($wa, 3);
ok((grep { $_->{data}{id} eq $s6->{id} } of_event('update', @m)),
   'an event committed while the LISTEN connection was down arrives');

# a reader that stops reading is dropped, the others carry on
{
    use Socket qw(SOL_SOCKET SO_RCVBUF);
    my $slow = IO::Socket::INET->new(Proto => 'tcp');
    $slow->setsockopt(SOL_SOCKET, SO_RCVBUF, 4096);
    $slow->connect(Socket::pack_sockaddr_in($t->port(8081),
                                            Socket::inet_aton('127.0.0.1')))
        or die "connect: $!";
    $slow->syswrite("GET /api/v1/streaming/public HTTP/1.1\r\nHost: "
                    . $t->domain() . "\r\nAuthorization: Bearer $carol\r\n\r\n");
    sleep 0.5;
    # bob's statuses weigh 10 KB each, with his long profile
    post_status($bob, status => "filler $_") for 1 .. 16;
    ws_messages($wa, 0.5);
    my ($got, $eof) = ('', 0);
    my $sel = IO::Select->new($slow);
    my $end = time + 10;
    while (time < $end && $sel->can_read($end - time)) {
        my $n = $slow->sysread($got, 65536, length $got);
        if (!$n) { $eof = 1; last }
    }
    ok($eof, 'a client that reads too slowly is dropped');
    my $s7 = post_status($bob, status => 'still streaming');
    ok((grep { $_->{data}{id} eq $s7->{id} } of_event('update', ws_messages($wa))),
       'the others still get their events');
}

# a direct message: the conversation on direct
my $wdir = ws_open(token => $alice, path => '/api/v1/streaming?stream=direct');
is($wdir->{status}, 101, 'direct stream');
sleep 0.3;
my $s4 = post_status($bob, status => '@alice psst', visibility => 'direct');
@m = ws_messages($wdir);
my @c = of_event('conversation', @m);
is(scalar @c, 1, 'a conversation event');
is($c[0]{data}{last_status}{id}, $s4->{id}, 'whose last status is the message');

# ---- masto.js and megalodon (t/clients/streaming.mjs) ----

SKIP: {
    my $dir = "$FindBin::Bin/clients";
    my $node = "$dir/node_modules/.bin/node";
    skip 't/clients/node_modules is missing', 1 unless -x $node;

    my $base = 'http://127.0.0.1:' . $t->port(8080);
    my $out = `cd $dir && $node streaming.mjs $base $alice $bob $carol $dave 2>&1`;
    my $rc = $? >> 8;
    my $k = 0;

    for my $line (split /\n/, $out) {
        if ($line =~ /^(not )?ok \d+ - (.*)$/) {
            ok(!$1, $2);
            $k++;
        } elsif ($line =~ /^#/) {
            diag($line);
        }
    }

    ok($k >= 14 && $rc == 0, "the client script ran its checks ($k)")
        or diag($out);
}

# ---- a second node on the same database ----

{
    my $d = $t->testdir() . '/node2';
    mkdir $d;
    my $port = $t->port(8082);
    my $http = $t->test_globals_http() =~ s{\Q@{[ $t->testdir() ]}\E/}{$d/}gr;
    my $conf = $t->test_globals() =~ s{\Q@{[ $t->testdir() ]}\E/}{$d/}gr;
    open my $fh, '>', "$d/nginx.conf" or die;
    print $fh "$conf\nevents {}\nhttp {\n$http\n    server {\n"
        . "        listen 127.0.0.1:$port;\n        location / { fedi; }\n"
        . "    }\n}\n";
    close $fh;
    my %env = $t->_nginx_env();
    local @ENV{keys %env} = values %env;
    system("$Fedi::Test::NGINX -p $d/ -c $d/nginx.conf -e $d/error.log") == 0
        or die "the second node did not start";
    $t->waitforsocket($port);

    my $s = $t->connect(port => $port);
    my $n2 = { sock => $s, buf => '' };
    $s->syswrite("GET /api/v1/streaming?stream=user HTTP/1.1\r\nHost: "
        . $t->domain() . "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        . "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        . "Sec-WebSocket-Version: 13\r\nAuthorization: Bearer $alice\r\n\r\n");
    my $sel = IO::Select->new($s);
    while ($n2->{buf} !~ /\r\n\r\n/ && $sel->can_read(10)) {
        last unless $s->sysread($n2->{buf}, 65536, length $n2->{buf});
    }
    like($n2->{buf}, qr{^HTTP/1\.1 101}, 'a stream on a second node');
    $n2->{buf} =~ s/^.*?\r\n\r\n//s;
    sleep 0.3;

    my $s8 = post_status($bob, status => 'posted on the first node');
    ok((grep { $_->{data}{id} eq $s8->{id} } of_event('update', ws_messages($n2))),
       'its subscriber gets the event of a post on the first node');

    my ($master) = `cat $d/nginx.pid` =~ /(\d+)/;
    kill 'QUIT', $master;
    $t->wait_exited([$master], 30);
    close $s;
    unlike(`cat $d/error.log`, qr/\[(alert|crit|emerg)\]/,
           'the second node logged no alert');
}

# ---- hostile frames ----

sub closed_with {
    my ($ws) = @_;
    my @m = ws_messages($ws, 3);
    my ($cl) = grep { exists $_->{close} } @m;
    return $cl ? $cl->{close} : undef;
}

my $h = ws_open(token => $carol);
ws_send($h, 1, '{"type":"subscribe","stream":"user"}', unmasked => 1);
is(closed_with($h), 1002, 'an unmasked frame: closed with 1002');

$h = ws_open(token => $carol);
{
    local $SIG{PIPE} = 'IGNORE';
    $h->{sock}->syswrite(substr(ws_frame(1, '', len => 16 * 1024 * 1024), 0, 14)
                         . ('x' x 65536));
}
is(closed_with($h), 1009, 'a 16 MB frame: closed with 1009');

$h = ws_open(token => $carol);
ws_send($h, 1, 'x', rsv => 0x40);
is(closed_with($h), 1002, 'reserved bits: 1002');

$h = ws_open(token => $carol);
ws_send($h, 9, 'x' x 200);
is(closed_with($h), 1002, 'a ping over 125 bytes: 1002');

$h = ws_open(token => $carol);
ws_send($h, 0, 'orphan');
is(closed_with($h), 1002, 'a continuation without a message: 1002');

$h = ws_open(token => $carol);
ws_send($h, 1, "\xff\xfe");
is(closed_with($h), 1007, 'invalid UTF-8: 1007');

$h = ws_open(token => $carol);
ws_send($h, 2, 'bin');
is(closed_with($h), 1003, 'binary: 1003');

$h = ws_open(token => $carol);
ws_send($h, 1, '{not json');
ws_send($h, 8, pack('n', 1000));
is(closed_with($h), 1000, 'garbage JSON ignored; a close is answered');

$h = ws_open(token => $carol,
             extra => ws_frame(1, '{"type":"subscribe","stream":"user"}'));
is($h->{status}, 101, 'a frame right behind the handshake');

is($t->get('/api/v1/streaming/health')->{status}, 200,
   'the server is fine after all that');

# ---- revocation, cap, reload ----

my ($frank, $frank_id) = $t->sign_up('frank');
my $wf = ws_open(token => $frank, path => '/api/v1/streaming?stream=user');
is($wf->{status}, 101, 'frank streams');
$t->psql("UPDATE oauth_access_tokens SET revoked_at = now()"
         . " WHERE user_id = (SELECT id FROM users"
         . " WHERE account_id = $frank_id) RETURNING fedi_cache_notify("
         . "'token:' || encode(digest, 'hex'))");
ok(defined closed_with($wf), 'revoking the token closes its stream');

my @many = map { ws_open(token => $erin) } 1 .. 66;
ok((grep { $_->{status} == 429 } @many), 'too many streams of one token: 429');
my $opened = grep { $_->{status} == 101 } @many;
ok($opened >= 31 && $opened <= 64, "up to 32 per worker ($opened)");
close $_->{sock} for @many;

my $w1 = ws_open(token => $alice, path => '/api/v1/streaming?stream=user');
my $s5 = sse_open('/api/v1/streaming/public', $carol);
$t->reload();
is(closed_with($w1), 1001, 'a reload: close frame 1001');
sse_read($s5, 2);
ok($s5->{closed}, 'and the SSE stream ends');

my $w2 = ws_open(token => $alice, path => '/api/v1/streaming?stream=user');
is($w2->{status}, 101, 'the new workers stream');
sleep 0.3;
post_status($bob, status => 'after the reload');
is(scalar(of_event('update', ws_messages($w2))), 1,
   'and deliver');

$t->done_testing();
