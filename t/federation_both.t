#!/usr/bin/perl

# Two of our instances federating both ways through their inboxes and
# delivery processes, in the federation lab: https://one.test and
# https://two.test follow each other's users, and posts, replies,
# favourites, boosts, edits and deletions travel, private and direct
# posts only to their audience, each checked through the receiving side's
# Mastodon API.  one.test runs in authorized-fetch mode, so two.test's
# fetches and deliveries there are all signed.

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

my $one = $lab->instance('one.test', http => "    fedi_authorized_fetch on;\n");
my $two = $lab->instance('two.test');

my ($alice, $alice_id) = $one->sign_up('alice');
my ($bob, $bob_id) = $two->sign_up('bob');

# what() until it gives something true
sub eventually {
    my ($what, $timeout) = @_;
    my $end = time + ($timeout // 20);
    my $v;
    while (time < $end) {
        $v = $what->();
        return $v if $v;
        sleep 0.1;
    }
    return $what->();
}

sub remote_id {
    my ($t, $token, $acct) = @_;
    my $r = $t->get("/api/v1/accounts/lookup?acct=$acct", token => $token);
    return $r->{json}{id};
}

sub home_has {
    my ($t, $token, $re) = @_;
    my $r = $t->get('/api/v1/timelines/home?limit=40', token => $token);
    my ($s) = grep { ($_->{content} // '') =~ $re } @{ $r->{json} // [] };
    return $s;
}

sub notified {
    my ($t, $token, $type, $acct) = @_;
    my $r = $t->get('/api/v1/notifications', token => $token);
    my ($n) = grep { $_->{type} eq $type && $_->{account}{acct} eq $acct }
              @{ $r->{json} // [] };
    return $n;
}

# Follow, Accept

my $bob_on_one = remote_id($one, $alice, 'bob@two.test');
ok($bob_on_one, 'one.test resolves bob@two.test');
my $r = $one->post("/api/v1/accounts/$bob_on_one/follow", token => $alice);
is($r->{status}, 200, 'alice follows bob@two.test') or diag($r->{body});

ok(eventually(sub {
    my $r = $one->get("/api/v1/accounts/relationships?id[]=$bob_on_one",
                      token => $alice);
    $r->{json}[0]{following};
}), 'two.test accepted: alice follows bob') or diag($two->error_log());

ok(eventually(sub {
    my $r = $two->get("/api/v1/accounts/$bob_id/followers");
    grep { $_->{acct} eq 'alice@one.test' } @{ $r->{json} // [] };
}), 'two.test counts alice@one.test among bob\'s followers');

# Create

$r = $two->post('/api/v1/statuses', token => $bob,
                json => { status => 'Hello from two', visibility => 'public' });
is($r->{status}, 200, 'bob posts');
my $bob_status = $r->{json};

my $seen = eventually(sub { home_has($one, $alice, qr/Hello from two/) });
ok($seen, 'bob\'s post is in alice\'s home on one.test') or diag($one->error_log());
is($seen->{account}{acct}, 'bob@two.test', 'by bob@two.test');
is($seen->{uri}, $bob_status->{uri}, 'with its uri');

# reply, favourite, boost: back to two.test

$r = $one->post('/api/v1/statuses', token => $alice,
                json => { status => '@bob@two.test a reply from one',
                          in_reply_to_id => $seen->{id} });
is($r->{status}, 200, 'alice replies');
ok(eventually(sub { notified($two, $bob, 'mention', 'alice@one.test') }),
   'bob is notified of the mention on two.test');
ok(eventually(sub {
    my $r = $two->get("/api/v1/statuses/$bob_status->{id}/context", token => $bob);
    grep { ($_->{content} // '') =~ /a reply from one/ } @{ $r->{json}{descendants} // [] };
}), 'and the reply is in the thread');

is($one->post("/api/v1/statuses/$seen->{id}/favourite", token => $alice)->{status},
   200, 'alice favourites it');
ok(eventually(sub { notified($two, $bob, 'favourite', 'alice@one.test') }),
   'bob is notified of the favourite');

is($one->post("/api/v1/statuses/$seen->{id}/reblog", token => $alice)->{status},
   200, 'alice boosts it');
ok(eventually(sub { notified($two, $bob, 'reblog', 'alice@one.test') }),
   'bob is notified of the boost');

# Update, Delete

$r = $two->put("/api/v1/statuses/$bob_status->{id}", token => $bob,
               json => { status => 'Hello from two, edited' });
is($r->{status}, 200, 'bob edits his post');
ok(eventually(sub {
    my $r = $one->get("/api/v1/statuses/$seen->{id}", token => $alice);
    ($r->{json}{content} // '') =~ /edited/ && $r->{json}{edited_at};
}), 'one.test shows the edit');

is($two->delete("/api/v1/statuses/$bob_status->{id}", token => $bob)->{status},
   200, 'bob deletes it');
ok(eventually(sub {
    $one->get("/api/v1/statuses/$seen->{id}", token => $alice)->{status} == 404;
}), 'gone from one.test');

# the other way: bob follows alice, alice posts (one.test is in
# authorized-fetch mode: two.test's fetches of alice are signed)

my $alice_on_two = remote_id($two, $bob, 'alice@one.test');
is($two->post("/api/v1/accounts/$alice_on_two/follow", token => $bob)->{status},
   200, 'bob follows alice@one.test');
ok(eventually(sub {
    my $r = $two->get("/api/v1/accounts/relationships?id[]=$alice_on_two",
                      token => $bob);
    $r->{json}[0]{following};
}), 'accepted');
$r = $one->post('/api/v1/statuses', token => $alice,
                json => { status => 'Hello from one' });
ok(eventually(sub { home_has($two, $bob, qr/Hello from one/) }),
   'alice\'s post reaches bob\'s home');

# a private post reaches followers only; a direct one only the mentioned

my ($carol) = $two->sign_up('carol');
$r = $one->post('/api/v1/statuses', token => $alice,
                json => { status => 'for followers', visibility => 'private' });
my $private = eventually(sub { home_has($two, $bob, qr/for followers/) });
ok($private, 'a private post reaches bob, a follower');
is($private->{visibility}, 'private', 'as private');
is($two->get("/api/v1/statuses/$private->{id}", token => $carol)->{status}, 404,
   'carol, on the same server but no follower, cannot see it');

my ($dana) = $two->sign_up('dana');
$r = $one->post('/api/v1/statuses', token => $alice,
                json => { status => '@dana@two.test just for you',
                          visibility => 'direct' });
is($r->{status}, 200, 'alice writes to dana@two.test directly');
ok(eventually(sub {
    my $r = $two->get('/api/v1/conversations', token => $dana);
    grep { ($_->{last_status}{content} // '') =~ /just for you/ } @{ $r->{json} // [] };
}), 'dana has it among her conversations');
ok(!home_has($two, $bob, qr/just for you/), 'bob, a follower, does not');
is($two->psql("SELECT count(*) FROM statuses WHERE text LIKE '%just for you%'"
              . " OR content LIKE '%just for you%'") + 0, 1,
   'two.test holds it once');

# Undo

is($one->post("/api/v1/accounts/$bob_on_one/unfollow", token => $alice)->{status},
   200, 'alice unfollows bob');
ok(eventually(sub {
    my $r = $two->get("/api/v1/accounts/$bob_id/followers");
    !grep { $_->{acct} eq 'alice@one.test' } @{ $r->{json} // [] };
}), 'two.test no longer counts her');

done_testing();
