#!/usr/bin/perl

# Moving an account and rotating its key, sent (fedictl accounts alias,
# move, rotate-key), between two of our instances in the federation lab:
# after a key rotation, posts still reach a follower's server that had
# the old key (it fetches the actor again); after a Move, the followers
# on the other server (which handles inbound Move, sql/0028) and here
# follow the new account, and the actor and the API say where it went.
# A target on another server is fetched by fedictl (WebFinger, the
# actor) with libcurl.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use Time::HiRes qw(sleep time);
use Fedi::Test;
use Fedi::Lab;

my $lab = Fedi::Lab->new();
$lab->host($_) for qw(one.test two.test);
$lab->start_dns();

$ENV{FEDI_TEST_LOG_LEVEL} = 'info';

my $one = $lab->instance('one.test');
my $two = $lab->instance('two.test');

my ($alice, $alice_id) = $one->sign_up('alice');
my ($newalice, $newalice_id) = $one->sign_up('newalice');
my ($ann, $ann_id) = $one->sign_up('ann');
my ($carol, $carol_id) = $one->sign_up('carol');
my ($bob, $bob_id) = $two->sign_up('bob');
my ($dana, $dana_id) = $two->sign_up('dana');

my $FEDICTL = "$Fedi::Test::TOP/build/fedictl";

sub fedictl {
    my ($t, @a) = @_;
    my $out = `$FEDICTL --db '@{[ $t->conninfo() ]}' @a 2>&1`;
    return ($? >> 8, $out);
}

# curl's view of the lab: its names and its CA
sub lab_net {
    my ($name) = @_;
    return ('--resolve', "$name:443:" . $lab->address($name),
            '--cacert', $lab->ca());
}

sub eventually {
    my ($what, $timeout) = @_;
    my $end = time + ($timeout // 20);
    while (time < $end) {
        my $v = $what->();
        return $v if $v;
        sleep 0.1;
    }
    return $what->();
}

sub lookup {
    my ($t, $token, $acct) = @_;
    return $t->get("/api/v1/accounts/lookup?acct=$acct", token => $token)
        ->{json}{id};
}

sub rel {
    my ($t, $token, $id) = @_;
    return $t->get("/api/v1/accounts/relationships?id[]=$id", token => $token)
        ->{json}[0] // {};
}

sub home_has {
    my ($t, $token, $re) = @_;
    my $r = $t->get('/api/v1/timelines/home?limit=40', token => $token);
    return scalar grep { ($_->{content} // '') =~ $re } @{ $r->{json} // [] };
}

sub actor {
    my ($name) = @_;
    return $lab->https_get('one.test', "/users/$name",
                           Accept => 'application/activity+json')->{json};
}

# bob@two.test follows alice@one.test

my $alice_on_two = lookup($two, $bob, 'alice@one.test');
ok($alice_on_two, 'two.test knows alice@one.test');
$two->post("/api/v1/accounts/$alice_on_two/follow", token => $bob);
ok(eventually(sub { rel($two, $bob, $alice_on_two)->{following} }),
   'bob follows alice');

$one->post('/api/v1/statuses', token => $alice, json => { status => 'before the new key' });
ok(eventually(sub { home_has($two, $bob, qr/before the new key/) }),
   'alice\'s post reaches bob (two.test has her key now)');

# --- key rotation --------------------------------------------------------

my $old = $two->psql("SELECT public_key FROM accounts WHERE id = $alice_on_two");
like($old, qr/BEGIN PUBLIC KEY/, 'two.test holds alice\'s key');

my ($rc, $out) = fedictl($one, 'accounts', 'rotate-key', 'alice');
is($rc, 0, 'fedictl accounts rotate-key alice') or diag($out);
like($out, qr/goes to 1 servers/, 'the Update of her actor goes to two.test');
($rc) = fedictl($one, 'accounts', 'rotate-key', 'nobody');
is($rc, 1, 'an unknown account: exit 1');

my $new = $one->psql("SELECT public_key FROM accounts WHERE id = $alice_id");
isnt($new, $old, 'alice has a new key');
is(actor('alice')->{publicKey}{publicKeyPem} =~ s/\s+$//r, $new =~ s/\s+$//r,
   'her actor shows it, under the same key id')
    and is(actor('alice')->{publicKey}{id}, 'https://one.test/users/alice#main-key',
           'the key id');

$one->post('/api/v1/statuses', token => $alice, json => { status => 'after the new key' });
ok(eventually(sub { home_has($two, $bob, qr/after the new key/) }, 30),
   'a post signed with the new key reaches bob all the same')
    or diag($two->error_log());
ok(eventually(sub {
    $two->psql("SELECT public_key FROM accounts WHERE id = $alice_on_two") eq $new;
}), 'two.test holds the new key');

# --- Move to an account of the same server -------------------------------

($rc, $out) = fedictl($one, 'accounts', 'move', 'alice', 'newalice');
is($rc, 1, 'moving to an account that does not name alice: refused');
like($out, qr/alsoKnownAs/, 'because of alsoKnownAs');

($rc, $out) = fedictl($one, 'accounts', 'alias', 'newalice', 'alice');
is($rc, 0, 'fedictl accounts alias newalice alice') or diag($out);
is_deeply(actor('newalice')->{alsoKnownAs}, ['https://one.test/users/alice'],
          'newalice\'s actor names alice in alsoKnownAs');
($rc, $out) = fedictl($one, 'accounts', 'alias', 'newalice', 'newalice');
is($rc, 1, 'no alias of itself');

# ann, local, follows alice too
my $r = $one->post("/api/v1/accounts/$alice_id/follow", token => $ann);
ok($r->{json}{following}, 'ann follows alice');

($rc, $out) = fedictl($one, 'accounts', 'move', 'alice', 'newalice@one.test');
is($rc, 0, 'fedictl accounts move alice newalice@one.test') or diag($out);
like($out, qr/1 local followers/, 'ann moved here');

is(actor('alice')->{movedTo}, 'https://one.test/users/newalice',
   'alice\'s actor says movedTo');
my $acc = $one->get("/api/v1/accounts/$alice_id")->{json};
is($acc->{moved}{id}, $newalice_id, 'the API shows alice moved to newalice');
is($acc->{moved}{acct}, 'newalice', 'as an Account');
ok(rel($one, $ann, $newalice_id)->{following}, 'ann follows newalice');
ok(!rel($one, $ann, $alice_id)->{following}, 'and no longer alice');

my $newalice_on_two;
ok(eventually(sub {
    $newalice_on_two = $two->psql("SELECT id FROM accounts"
                                  . " WHERE uri = 'https://one.test/users/newalice'");
    $newalice_on_two && rel($two, $bob, $newalice_on_two)->{following};
}, 30), 'on two.test, bob follows newalice (Move, Follow, Accept)')
    or diag($two->psql("SELECT outcome FROM inbox_activities"
                       . " WHERE body ->> 'type' = 'Move'") . "\n"
            . join '', grep { /Move|move/ } split /^/m, $two->error_log());
ok(!rel($two, $bob, $alice_on_two)->{following}, 'and no longer alice');
is($two->get("/api/v1/accounts/$alice_on_two", token => $bob)->{json}{moved}{id},
   $newalice_on_two, 'two.test shows alice moved');
ok(eventually(sub {
    my $f = $one->get("/api/v1/accounts/$newalice_id/followers")->{json} // [];
    grep { $_->{acct} eq 'bob@two.test' } @$f;
}), 'one.test counts bob among newalice\'s followers');

($rc, $out) = fedictl($one, 'accounts', 'move', 'carol', 'alice');
is($rc, 1, 'a move to an account that moved itself: refused');

# --- Move to another server, fetched with libcurl ------------------------

$r = $one->post("/api/v1/accounts/$ann_id/follow", token => $carol);
ok($r->{json}{following}, 'carol (one.test) follows ann');

($rc, $out) = fedictl($two, 'accounts', 'alias', 'dana', 'ann@one.test',
                      lab_net('one.test'));
is($rc, 0, 'on two.test: dana names ann@one.test (WebFinger, the actor)')
    or diag($out);
is($two->psql("SELECT array_to_string(also_known_as, ' ') FROM accounts"
              . " WHERE id = $dana_id"), 'https://one.test/users/ann',
   'by her actor\'s URI');

($rc, $out) = fedictl($one, 'accounts', 'move', 'ann', 'https://two.test/users/dana');
is($rc, 1, 'two.test cannot be reached without its name and CA');

($rc, $out) = fedictl($one, 'accounts', 'move', 'ann', 'https://two.test/users/dana',
                      lab_net('two.test'));
is($rc, 0, 'ann moves to dana@two.test') or diag($out);
my $dana_on_one = $one->psql("SELECT id FROM accounts"
                             . " WHERE uri = 'https://two.test/users/dana'");
ok($dana_on_one, 'one.test stored dana@two.test');
ok(eventually(sub { rel($one, $carol, $dana_on_one)->{following} }, 30),
   'carol follows dana@two.test (her Follow accepted there)');
ok(!rel($one, $carol, $ann_id)->{following}, 'and no longer ann');

($rc, $out) = fedictl($one, 'accounts', 'alias', 'carol', 'nobody@two.test',
                      lab_net('two.test'));
is($rc, 1, 'an alias that does not resolve: exit 1');

done_testing();
