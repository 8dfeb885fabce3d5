#!/usr/bin/perl

# The inbox answers 202 before fetching an object from its origin (issue
# 5): an activity whose object comes by reference is stored pending and
# fetched in the background (ap_inbox_fetch.c, sql/0039).  The origin
# here is the test itself, https://slow.test on a lab address with the
# lab's certificate, answering only when the test says: so "the 202 came
# first" is shown by order (the origin has not even accepted the fetch's
# connection when the POST returns), never by timing.  Then: a 503 that
# is tried again, an id that is not the URL (dropped, with the reason),
# the same activity twice while pending (fetched and processed once), an
# actor's later activity waiting for the pending one (a Delete never
# passes the Create it deletes), and a worker killed in the middle of a
# fetch (its lease expires, the activity is fetched again).

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use IO::Select;
use IO::Socket::SSL;
use Test::More;
use Fedi::Test;
use Fedi::Lab;
use Fedi::Cavage;

my $lab = Fedi::Lab->new();
$lab->host('ours.test');
$lab->host('slow.test');
$lab->start_dns();

my $key = $lab->mallory_key();

$SIG{PIPE} = 'IGNORE';     # a fetch its worker gave up on

# the origin: accepted from, one connection at a time, only when asked
my $origin = IO::Socket::SSL->new(
    LocalAddr => $lab->address('slow.test'), LocalPort => 443,
    Listen => 16, ReuseAddr => 1, SSL_server => 1,
    SSL_cert_file => $lab->cert('slow.test'),
    SSL_key_file => $lab->key('slow.test'),
) or die "slow.test: $SSL_ERROR";

$ENV{FEDI_TEST_LOG_LEVEL} = 'info';

my $t = $lab->instance('ours.test');
$t->allow_log(qr/process \d+ exited on signal 9/);

my ($alice) = $t->sign_up('alice');

# mallory of slow.test, whose key we hold already: the only fetches are
# of objects
my $MALLORY = 'https://slow.test/users/mallory';
my $pem = do { local (@ARGV, $/) = ($lab->mallory_pem()); <> };
my $EVE = 'https://slow.test/users/eve';
for my $who ($MALLORY, $EVE) {
    my ($name) = $who =~ m{/(\w+)$};
    $t->psql("INSERT INTO accounts (username, domain, uri, inbox_url,"
             . " public_key, public_key_id)"
             . " VALUES ('$name', 'slow.test', '$who', '$who/inbox',"
             . " \$pem\$$pem\$pem\$, '$who#main-key')");
}
my $PUBLIC = 'https://www.w3.org/ns/activitystreams#Public';

# mallory's Create of the note at $url, by reference
sub create {
    my ($n, $url) = @_;
    return Fedi::Test::json_encode({
        '@context' => 'https://www.w3.org/ns/activitystreams',
        id => "$MALLORY/activities/p$n", type => 'Create',
        actor => $MALLORY, to => [$PUBLIC], object => $url });
}

sub document {
    my ($url, %o) = @_;
    return Fedi::Test::json_encode({
        '@context' => 'https://www.w3.org/ns/activitystreams',
        id => $url, type => 'Note', attributedTo => $MALLORY,
        to => [$PUBLIC], content => "<p>from $url<script>x()</script></p>",
        %o });
}

sub post {
    my ($body, $who) = @_;
    return $t->post('/inbox', body => $body, headers => Fedi::Cavage::headers(
        key => $key, key_id => ($who // $MALLORY) . '#main-key',
        path => '/inbox', body => $body))->{status};
}

sub activity {
    my ($id, %a) = @_;
    return Fedi::Test::json_encode({
        '@context' => 'https://www.w3.org/ns/activitystreams',
        id => $id, actor => $MALLORY, %a });
}

sub outcome_of {
    my ($id) = @_;
    my ($o) = $t->psql("SELECT coalesce(outcome, '(none)')"
                       . " FROM inbox_activities WHERE uri = '$id'");
    return $o;
}

sub row {
    my ($n) = @_;
    my ($r) = $t->psql("SELECT object_pending || ' '"
                       . " || (processed_at IS NOT NULL) || ' '"
                       . " || object_attempts FROM inbox_activities"
                       . " WHERE uri = '$MALLORY/activities/p$n'");
    return $r // '(none)';
}

# the next fetch that reaches the origin, answered with $status, $type and
# $body: the path it asked for, or undef when none came within 20 s (a
# connection its worker dropped is passed over)
sub serve {
    my ($status, $type, $body) = @_;

    for (1 .. 5) {
        IO::Select->new($origin)->can_read(20) or return undef;
        my $c = $origin->accept() or next;
        $c->timeout(10);

        my $head = '';
        while (defined(my $l = <$c>)) {
            $head .= $l;
            last if $l =~ /^\r?\n$/;
        }
        my ($path) = $head =~ m{^GET (\S+) HTTP/1\.[01]\r?\n};
        unless (defined $path) {
            close $c;
            next;
        }

        print $c "HTTP/1.1 $status Whatever\r\nContent-Type: $type\r\n"
               . "Content-Length: " . length($body) . "\r\n"
               . "Connection: close\r\n\r\n$body";
        close $c;
        return $path;
    }

    return undef;
}

# no fetch waiting at the origin now, nor within a second
sub no_fetch { !IO::Select->new($origin)->can_read(1) }

sub outcome {
    my ($n) = @_;
    return $lab->wait_for(sub {
        $t->psql("SELECT outcome FROM inbox_activities"
                 . " WHERE uri = '$MALLORY/activities/p$n'"
                 . " AND processed_at IS NOT NULL") }, 30) // '(not processed)';
}

sub status_of {
    my ($url) = @_;
    my ($id) = $t->psql("SELECT id FROM statuses WHERE uri = '$url'");
    return $id;
}

my $AP = 'application/activity+json';

# --- (a) the 202 comes before the origin answers ------------------------

my $u1 = 'https://slow.test/notes/1';

is(post(create(1, $u1)), 202, 'a Create by reference: 202 at once');
like(row(1), qr/^true false [01]$/, '... stored pending, not processed');
ok(!status_of($u1), '... no status yet');

# only now does the origin take the fetch's connection and answer
is(serve(200, $AP, document($u1)), '/notes/1',
   'the origin is asked for the object after the 202');
like(outcome(1), qr/^create \d+$/, 'then the activity is processed');
my $s1 = status_of($u1);
ok($s1, 'the status appears');
my $st = $t->get("/api/v1/statuses/$s1", token => $alice)->{json};
is($st->{account}{acct}, 'mallory@slow.test', 'by mallory');
is($st->{content}, "<p>from $u1</p>", 'sanitized as before');
is(row(1), 'false true 1', 'fetched once, no longer pending');

# --- (b) a 503, then the object: tried again ----------------------------

my $u2 = 'https://slow.test/notes/2';

is(post(create(2, $u2)), 202, 'a Create whose origin first fails: 202');
is(serve(503, 'text/plain', 'busy'), '/notes/2', 'the origin answers 503');
like($lab->wait_for(sub {
         $t->psql("SELECT object_error FROM inbox_activities"
                  . " WHERE uri = '$MALLORY/activities/p2'") }, 10) // '',
     qr/cannot be fetched from its origin: HTTP 503/, '... recorded as why');
is(row(2), 'true false 1', '... still pending, not processed');
is(serve(200, $AP, document($u2)), '/notes/2', 'asked again after a while');
like(outcome(2), qr/^create \d+$/, 'then processed');
ok(status_of($u2), 'the status appears after the retry');
is(row(2), 'false true 2', 'two attempts');

# --- (c) a document whose id is not its URL: dropped, with the reason ---

my $u3 = 'https://slow.test/notes/3';

is(post(create(3, $u3)), 202, 'a Create whose origin lies: 202');
is(serve(200, $AP, document('https://other.test/notes/3')), '/notes/3',
   'the origin answers the id of another host');
is(outcome(3), 'create: no trusted object', 'the activity is dropped');
is(($t->psql("SELECT object_error FROM inbox_activities"
             . " WHERE uri = '$MALLORY/activities/p3'"))[0],
   "the fetched object's id is not its URL", 'with its reason');
ok(!status_of($u3) && !status_of('https://other.test/notes/3'),
   'nothing stored');
ok(no_fetch(), 'not tried again');

# --- a private address: refused, not tried again ----------------------

my $u7 = 'https://10.255.255.1/notes/7';

is(post(create(7, $u7)), 202, 'a Create whose object is at a private address: 202');
is(outcome(7), 'create: no trusted object', 'dropped');
is(row(7), 'false true 1', 'after one attempt: a private address stays one');
is(($t->psql("SELECT object_error FROM inbox_activities"
             . " WHERE uri = '$MALLORY/activities/p7'"))[0],
   'the object cannot be fetched from its origin: a private address',
   'the reason');

# --- (d) the same activity twice while pending: once --------------------

my $u4 = 'https://slow.test/notes/4';

is(post(create(4, $u4)), 202, 'a Create: 202');
is(post(create(4, $u4)), 202, 'the same activity again while pending: 202');
is(($t->psql("SELECT count(*) FROM inbox_activities"
             . " WHERE uri = '$MALLORY/activities/p4'"))[0], 1,
   'stored once');
is(serve(200, $AP, document($u4)), '/notes/4', 'fetched');
like(outcome(4), qr/^create \d+$/, 'processed');
ok(no_fetch(), 'fetched once');
is(($t->psql("SELECT count(*) FROM statuses WHERE uri = '$u4'"))[0], 1,
   'one status');

# --- an actor's later activities wait for the pending one --------------

my $u6 = 'https://slow.test/notes/6';

is(post(create(6, $u6)), 202, 'a Create: 202');
is(post(activity("$MALLORY/activities/d6", type => 'Delete',
                 object => { id => $u6, type => 'Tombstone' })), 202,
   'the Delete of its note, while it is pending: 202');

# eve's activity came after both and needs no fetch: once it is processed,
# so would mallory's Delete be, but for the pending Create before it
is(post(Fedi::Test::json_encode({
        '@context' => 'https://www.w3.org/ns/activitystreams',
        id => "$EVE/activities/1", type => 'Create', actor => $EVE,
        object => { id => 'https://slow.test/notes/eve1', type => 'Note',
                    attributedTo => $EVE, to => [$PUBLIC],
                    content => '<p>eve</p>' } }), $EVE), 202,
   'another actor\'s Create, embedded: 202');
like($lab->wait_for(sub {
         $t->psql("SELECT outcome FROM inbox_activities"
                  . " WHERE uri = '$EVE/activities/1'"
                  . " AND processed_at IS NOT NULL") }, 20) // '',
     qr/^create \d+$/, 'processed at once');
is(outcome_of("$MALLORY/activities/d6"), '(none)',
   'mallory\'s Delete waits for her pending Create');

is(serve(200, $AP, document($u6)), '/notes/6', 'the note fetched');
like(outcome(6), qr/^create \d+$/, 'the Create processed');
is($lab->wait_for(sub {
       $t->psql("SELECT outcome FROM inbox_activities"
                . " WHERE uri = '$MALLORY/activities/d6'"
                . " AND processed_at IS NOT NULL") }, 20) // '',
   'delete status', 'then the Delete');
ok(!$t->psql("SELECT 1 FROM statuses WHERE uri = '$u6'"
             . " AND deleted_at IS NULL"), 'the status is gone');

# --- a worker killed mid-fetch: its lease expires, fetched again --------

my $u5 = 'https://slow.test/notes/5';

is(post(create(5, $u5)), 202, 'a Create: 202');
ok($lab->wait_for(sub { row(5) eq 'true false 1' }, 10),
   'claimed by a worker') or diag(row(5));
ok(IO::Select->new($origin)->can_read(10), 'whose fetch waits at the origin');

my %old = map { $_ => 1 } $t->worker_pids();
kill 'KILL', keys %old;
ok($lab->wait_for(sub {
       my @now = $t->worker_pids();
       @now && !grep { $old{$_} } @now }, 10), 'the workers killed, respawned');
is(row(5), 'true false 1', 'the activity is still pending, leased');

# the lease (300 s) made to end now, as if it had
$t->psql("WITH d AS (UPDATE inbox_activities SET object_due = now()"
         . " WHERE uri = '$MALLORY/activities/p5' RETURNING 1)"
         . " SELECT pg_notify('fedi_inbox', 'fetch') FROM d");

is(serve(200, $AP, document($u5)), '/notes/5', 'fetched again once it expired');
like(outcome(5), qr/^create \d+$/, 'processed');
ok(status_of($u5), 'the status appears');
is(row(5), 'false true 2', 'on the second attempt');

$t->done_testing();
$lab->stop();
