#!/usr/bin/perl

# Server-sent events over HTTP/2 (h2c with prior knowledge on a second
# listener, and TLS with ALPN on a third): curl gets its viewer's update and delete events, streams
# multiplexed on one connection each get theirs, a stream nobody reads is
# reset once over its budget (t/clients/streaming-h2.mjs, node's HTTP/2
# client); a reload ends an open HTTP/2 stream cleanly (END_STREAM, curl
# exits 0) and the old worker exits without an alert.  WebSocket stays
# HTTP/1.1 only.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use IO::Select;
use IO::Socket::INET;
use Test::More;
use Time::HiRes qw(time sleep);
use Fedi::Test qw(json_decode json_encode);

my $dir = "$FindBin::Bin/clients";
my $node = "$dir/node_modules/.bin/node";

die "t/clients/node_modules is missing: run make test (npm ci --prefix t/clients)\n"
    unless -x $node;

my $t = Fedi::Test->new(app_name => 'streaming-h2');

# TLS as operators run it: a certificate of our own for localhost
my ($crt, $key) = map { $t->testdir() . "/localhost.$_" } qw(crt key);
my $ssl = `openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 -subj /CN=localhost -addext subjectAltName=DNS:localhost -keyout $key -out $crt 2>&1`;
$? == 0 or die "openssl req failed: $ssl\n";

$t->write_default_conf("    fedi_stream_buffer 16k;\n",
    "        listen 127.0.0.1:%%PORT_8082%% http2;\n"
    # small send buffers: a client that does not read blocks the socket
    . "        listen 127.0.0.1:%%PORT_8083%% http2 sndbuf=4k;\n"
    . "        listen 127.0.0.1:%%PORT_8084%% ssl http2;\n"
    . "        ssl_certificate $crt;\n"
    . "        ssl_certificate_key $key;\n");
$t->run();

my ($alice, $alice_id) = $t->sign_up('alice');
my ($bob, $bob_id) = $t->sign_up('bob');
my ($carol, $carol_id) = $t->sign_up('carol');

$t->post("/api/v1/accounts/$bob_id/follow", token => $alice);

my $h2 = 'http://127.0.0.1:' . $t->port(8082);

my $tls = 'https://localhost:' . $t->port(8084);

# curl in the background, the body to a file; returns its pid and file
sub curl_sse {
    my ($path, $token, $name, $url) = @_;
    my $file = "$t->{dir}/$name";
    my @how = $url
        ? ('--http2', '--cacert', $crt, '--resolve',
           'localhost:' . $t->port(8084) . ':127.0.0.1')
        : ('--http2-prior-knowledge');
    my $pid = fork();
    die "fork: $!" unless defined $pid;
    if ($pid == 0) {
        open STDOUT, '>', "$file.info" or die;
        exec 'curl', '-sN', @how, '--max-time', '60',
            '-H', "Authorization: Bearer $token",
            '-D', "$file.head", '-o', $file,
            '-w', '%{http_version} %{response_code}', ($url // $h2) . $path;
        exit 127;
    }
    return { pid => $pid, file => $file };
}

sub slurp {
    my ($f) = @_;
    open my $fh, '<', $f or return '';
    local $/;
    return scalar <$fh>;
}

sub wait_for {
    my ($c, $re, $secs) = @_;
    my $end = time + ($secs // 5);
    while (time < $end) {
        return 1 if slurp($c->{file}) =~ $re;
        sleep 0.05;
    }
    return 0;
}

sub reap {
    my ($c, $secs) = @_;
    my $end = time + ($secs // 10);
    while (time < $end) {
        my $r = waitpid($c->{pid}, 1);    # WNOHANG
        return $? >> 8 if $r == $c->{pid};
        sleep 0.05;
    }
    return undef;
}


# ---- refused as before: WebSocket over HTTP/2 ----

my $ws = `curl -s --http2-prior-knowledge -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer $alice' '$h2/api/v1/streaming?stream=user'`;
is($ws, '400', 'a WebSocket handshake over HTTP/2: 400');

my $nf = `curl -s --http2-prior-knowledge -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer $alice' '$h2/api/v1/streaming/nonsense'`;
is($nf, '404', 'an unknown SSE stream over HTTP/2: 404');


# ---- curl ----

my $ca = curl_sse('/api/v1/streaming/user', $alice, 'alice');
my $cc = curl_sse('/api/v1/streaming/user', $carol, 'carol');
my $ct = curl_sse('/api/v1/streaming/user', $alice, 'tls', $tls);

ok(wait_for($ca, qr/^:\)\n/) && wait_for($cc, qr/^:\)\n/),
   'curl over HTTP/2: the stream starts');
ok(wait_for($ct, qr/^:\)\n/), 'over TLS (ALPN h2) too');
like(slurp("$ct->{file}.head"), qr{^HTTP/2 200}, 'HTTP/2 200 over TLS');
my $head = slurp("$ca->{file}.head");
like($head, qr{^HTTP/2 200}, 'HTTP/2 200');
like($head, qr{content-type: text/event-stream}i, 'text/event-stream');

sleep 0.3;
my $st = $t->post('/api/v1/statuses', token => $bob,
                  json => { status => 'hello over h2' })->{json};

ok(wait_for($ca, qr/event: update\ndata: \{"id":"$st->{id}"/),
   'alice gets the update of bob, whom she follows');
ok(wait_for($ct, qr/event: update\ndata: \{"id":"$st->{id}"/),
   'over TLS as well');
$t->delete("/api/v1/statuses/$st->{id}", token => $bob);
ok(wait_for($ca, qr/event: delete\ndata: $st->{id}\n\n/),
   'and its delete');
unlike(slurp($cc->{file}), qr/event: update/,
       'carol, who does not follow bob, gets no update');


# ---- node: multiplexing, a reader that stops, the heartbeat ----

my $out = `cd $dir && $node streaming-h2.mjs http://127.0.0.1:@{[ $t->port(8080) ]} $h2 $alice $bob $carol 2>&1`;
my $rc = $? >> 8;
my $n = 0;
for my $line (split /\n/, $out) {
    if ($line =~ /^(not )?ok \d+ - (.*)$/) {
        ok(!$1, "node h2: $2");
        $n++;
    } elsif ($line =~ /^#/) {
        diag($line);
    }
}
ok($n >= 15, "node h2 ran its tests ($n)") or diag($out);
is($rc, 0, 'node h2 exits 0');

# the heartbeat came to curl as well, in the node script's 15 s
like(slurp($ca->{file}), qr/\n:thump\n/, 'curl got the heartbeat');


# ---- a client that stops reading the socket ----

# A raw h2c client with a small receive buffer that does not read: the
# server's DATA frames stay queued on the connection while events pile
# up past the budget; the stream is dropped with frames still queued
# (pointing into the stream's buffers).  Read again, the client gets
# those frames intact, then RST_STREAM.

sub h2_frame {
    my ($type, $flags, $sid, $payload) = @_;
    return pack('NCN', (length($payload) << 8) | $type, $flags, $sid)
           . $payload;
}

# HPACK: literal header fields without indexing, new names, no Huffman
sub hpack {
    my (@h) = @_;
    my $b = '';
    while (my ($k, $v) = splice @h, 0, 2) {
        $b .= "\0" . chr(length $k) . $k . chr(length $v) . $v;
    }
    return $b;
}

{
    use Socket qw(SOL_SOCKET SO_RCVBUF);
    my $s = IO::Socket::INET->new(Proto => 'tcp');
    $s->setsockopt(SOL_SOCKET, SO_RCVBUF, 4096);
    $s->connect(Socket::pack_sockaddr_in($t->port(8083),
                                         Socket::inet_aton('127.0.0.1')))
        or die "connect: $!";
    $s->syswrite("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
        . h2_frame(4, 0, 0, pack('nN', 4, 1 << 24))    # INITIAL_WINDOW_SIZE
        . h2_frame(8, 0, 0, pack('N', 1 << 24))        # WINDOW_UPDATE
        . h2_frame(1, 0x5, 1, hpack(':method' => 'GET', ':scheme' => 'http',
            ':path' => '/api/v1/streaming/public',
            ':authority' => '127.0.0.1:' . $t->port(8083),
            authorization => "Bearer $carol")));
    sleep 0.5;

    for my $i (1 .. 60) {
        $t->post('/api/v1/statuses', token => $bob,
                 json => { status => ('y' x 400) . " $i" });
    }
    sleep 1;

    # read again: every frame up to the end of stream 1
    my ($buf, $data, $rst, $end) = ('', '', undef, time + 15);
    my $sel = IO::Select->new($s);
    while (!defined $rst && time < $end && $sel->can_read($end - time)) {
        last unless $s->sysread($buf, 65536, length $buf);
        while (length $buf >= 9) {
            my ($lt, $flags, $sid) = unpack('NCN', $buf);
            my ($len, $type) = ($lt >> 8, $lt & 0xff);
            last if length $buf < 9 + $len;
            my $payload = substr($buf, 9, $len);
            substr($buf, 0, 9 + $len, '');
            if ($type == 4 && !($flags & 1)) {
                $s->syswrite(h2_frame(4, 1, 0, ''));       # SETTINGS ACK
            }
            $data .= $payload if $type == 0 && $sid == 1;
            $rst = unpack('N', $payload) if $type == 3 && $sid == 1;
        }
    }

    is($rst, 2, 'a client that stops reading: its stream is reset '
                . '(INTERNAL_ERROR) once over its budget');
    my @ev;
    push @ev, $1 while $data =~ /event: update\ndata: (.*)\n\n/g;
    ok(@ev >= 1 && @ev < 60, 'after some of the events (' . scalar(@ev) . ')');
    is(scalar(grep { my $j = eval { json_decode($_) }; !$j || !$j->{id} } @ev),
       0, 'the frames queued at the drop come out intact');
    like($data, qr/^:\)\n(?::thump\n|event: update\ndata: [^\n]*\n\n)*\z/,
         'nothing but whole events');
}


# ---- reload ----

ok(kill(0, $ca->{pid}) && kill(0, $cc->{pid}) && kill(0, $ct->{pid}),
   'the curl streams are open');
$t->reload();
is(reap($ca), 0, 'a reload ends the HTTP/2 stream cleanly: curl exits 0');
is(reap($cc), 0, 'the other one too');
is(reap($ct), 0, 'and the one over TLS');
like(slurp($ct->{file}), qr/event: delete\ndata: $st->{id}\n\n/,
     'which had the delete as well');
like(slurp("$ca->{file}.info"), qr/^2 200/, 'it was HTTP/2');

my $cn = curl_sse('/api/v1/streaming/user', $alice, 'after');
ok(wait_for($cn, qr/^:\)\n/), 'the new workers stream over HTTP/2');
sleep 0.3;
$t->post('/api/v1/statuses', token => $bob,
         json => { status => 'after the reload' });
ok(wait_for($cn, qr/event: update\ndata: .*after the reload/),
   'and deliver');
kill 'TERM', $cn->{pid};
reap($cn);

$t->done_testing();
