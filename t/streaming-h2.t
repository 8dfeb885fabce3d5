#!/usr/bin/perl

# Server-sent events over HTTP/2 (h2c with prior knowledge on a second
# listener): curl gets its viewer's update and delete events, streams
# multiplexed on one connection each get theirs, a stream nobody reads is
# reset once over its budget (t/clients/streaming-h2.mjs, node's HTTP/2
# client); a reload ends an open HTTP/2 stream cleanly (END_STREAM, curl
# exits 0) and the old worker exits without an alert.  WebSocket stays
# HTTP/1.1 only.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use Time::HiRes qw(time sleep);
use Fedi::Test qw(json_decode json_encode);

my $dir = "$FindBin::Bin/clients";
my $node = "$dir/node_modules/.bin/node";

die "t/clients/node_modules is missing: run make test (npm ci --prefix t/clients)\n"
    unless -x $node;

my $t = Fedi::Test->new(app_name => 'streaming-h2');
$t->write_default_conf("    fedi_stream_buffer 16k;\n",
    "        listen 127.0.0.1:%%PORT_8082%% http2;\n");
$t->run();

my ($alice, $alice_id) = $t->sign_up('alice');
my ($bob, $bob_id) = $t->sign_up('bob');
my ($carol, $carol_id) = $t->sign_up('carol');

$t->post("/api/v1/accounts/$bob_id/follow", token => $alice);

my $h2 = 'http://127.0.0.1:' . $t->port(8082);

# curl in the background, the body to a file; returns its pid and file
sub curl_sse {
    my ($path, $token, $name) = @_;
    my $file = "$t->{dir}/$name";
    my $pid = fork();
    die "fork: $!" unless defined $pid;
    if ($pid == 0) {
        open STDOUT, '>', "$file.info" or die;
        exec 'curl', '-sN', '--http2-prior-knowledge', '--max-time', '60',
            '-H', "Authorization: Bearer $token",
            '-D', "$file.head", '-o', $file,
            '-w', '%{http_version} %{response_code}', "$h2$path";
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

ok(wait_for($ca, qr/^:\)\n/) && wait_for($cc, qr/^:\)\n/),
   'curl over HTTP/2: the stream starts');
my $head = slurp("$ca->{file}.head");
like($head, qr{^HTTP/2 200}, 'HTTP/2 200');
like($head, qr{content-type: text/event-stream}i, 'text/event-stream');

sleep 0.3;
my $st = $t->post('/api/v1/statuses', token => $bob,
                  json => { status => 'hello over h2' })->{json};

ok(wait_for($ca, qr/event: update\ndata: \{"id":"$st->{id}"/),
   'alice gets the update of bob, whom she follows');
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


# ---- reload ----

ok(kill(0, $ca->{pid}) && kill(0, $cc->{pid}), 'the curl streams are open');
$t->reload();
is(reap($ca), 0, 'a reload ends the HTTP/2 stream cleanly: curl exits 0');
is(reap($cc), 0, 'the other one too');
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
