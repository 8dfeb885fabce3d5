#!/usr/bin/perl

# An account's statuses by hashtag and with media; endorsements (featured
# accounts); a user's blocks of whole domains; the languages a follower
# wants from an account.

use strict;
use warnings;
use utf8;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use Fedi::Test;

my $t = Fedi::Test->new();
$t->write_default_conf();
$t->run();

my ($alice, $alice_id) = $t->sign_up('alice');
my ($bob, $bob_id) = $t->sign_up('bob');
my ($carol, $carol_id) = $t->sign_up('carol');

sub post {
    my ($token, %form) = @_;
    my $r = $t->post('/api/v1/statuses', token => $token, form => \%form);
    is($r->{status}, 200, "posted: $form{status}") or diag($r->{body});
    return $r->{json};
}

sub ids { [ map { $_->{id} } @{ $_[0]{json} // [] } ] }

# tagged, only_media

my $cats = post($alice, status => 'one #cats');
my $dogs = post($alice, status => 'two #Dogs');
my $plain = post($alice, status => 'three');

my $r = $t->get("/api/v1/accounts/$alice_id/statuses?tagged=cats");
is_deeply(ids($r), [ $cats->{id} ], 'tagged: only the statuses with that hashtag');
$r = $t->get("/api/v1/accounts/$alice_id/statuses?tagged=%23DOGS");
is_deeply(ids($r), [ $dogs->{id} ], 'tagged: a # and any case');
$r = $t->get("/api/v1/accounts/$alice_id/statuses?tagged=birds");
is_deeply(ids($r), [], 'tagged: none with another');
$r = $t->get("/api/v1/accounts/$alice_id/statuses");
is(scalar @{ $r->{json} }, 3, 'without it, all three');
$r = $t->get("/api/v1/accounts/$alice_id/statuses?only_media=true");
is_deeply(ids($r), [], 'only_media: none has media');
$r = $t->get('/api/v1/timelines/public?only_media=true');
is_deeply(ids($r), [], 'only_media on the public timeline too');

# endorsements

sub rel {
    my ($token, $id) = @_;
    return $t->get("/api/v1/accounts/relationships?id[]=$id", token => $token)
        ->{json}[0];
}

$r = $t->post("/api/v1/accounts/$bob_id/pin", token => $alice);
is($r->{status}, 422, 'endorsing an account one does not follow: 422');
like($r->{json}{error}, qr/following/, 'saying why');

$t->post("/api/v1/accounts/$bob_id/follow", token => $alice);
$r = $t->post("/api/v1/accounts/$bob_id/pin", token => $alice);
is($r->{status}, 200, 'endorsing a followed account');
is($r->{json}{endorsed}, JSON::PP::true, 'the relationship says endorsed');
$r = $t->get('/api/v1/endorsements', token => $alice);
is_deeply(ids($r), [ $bob_id ], 'GET /api/v1/endorsements');
is($t->post("/api/v1/accounts/$bob_id/pin", token => $alice)->{status}, 200,
   'endorsing again: the same');
is($t->post("/api/v1/accounts/$alice_id/pin", token => $alice)->{status}, 404,
   'oneself: 404');
is($t->post('/api/v1/accounts/99999999/pin', token => $alice)->{status}, 404,
   'no such account: 404');
is($t->get('/api/v1/endorsements')->{status}, 401, 'the list needs a token');

$r = $t->post("/api/v1/accounts/$bob_id/unpin", token => $alice);
is($r->{json}{endorsed}, JSON::PP::false, 'unpin');
$t->post("/api/v1/accounts/$bob_id/pin", token => $alice);
$t->post("/api/v1/accounts/$bob_id/unfollow", token => $alice);
is_deeply(ids($t->get('/api/v1/endorsements', token => $alice)), [],
          'unfollowing ends the endorsement');

# domain blocks: a remote account's post, a follower there, and a
# notification from there

my ($remote) = $t->psql("INSERT INTO accounts (username, domain, uri)"
    . " VALUES ('eve', 'remote.example', 'https://remote.example/users/eve')"
    . " RETURNING id") =~ /(\d+)/;
my ($far) = $t->psql("INSERT INTO statuses (account_id, text, content, uri)"
    . " VALUES ($remote, 'far', '<p>far</p>',"
    . " 'https://remote.example/users/eve/statuses/1') RETURNING id")
    =~ /(\d+)/;
$t->psql("INSERT INTO follows (account_id, target_account_id)"
         . " VALUES ($remote, $carol_id)");
$t->psql("INSERT INTO notifications (account_id, from_account_id, type)"
         . " VALUES ($carol_id, $remote, 'follow')");

sub in_public {
    my ($token) = @_;
    return scalar grep { $_ eq $far }
        @{ ids($t->get('/api/v1/timelines/public', token => $token)) };
}

ok(in_public($carol), 'before: the remote post is in the public timeline');
is(scalar @{ $t->get('/api/v1/notifications', token => $carol)->{json} }, 1,
   'and the notification from there is shown');

$r = $t->post('/api/v1/domain_blocks', token => $carol,
              form => { domain => 'Remote.Example.' });
is($r->{status}, 200, 'POST /api/v1/domain_blocks');
is_deeply($r->{json}, {}, 'answers an empty object');
$r = $t->get('/api/v1/domain_blocks', token => $carol);
is_deeply($r->{json}, ['remote.example'], 'the list: the domain, normalized');
is(rel($carol, $remote)->{domain_blocking}, JSON::PP::true,
   'relationship: domain_blocking');
ok(!in_public($carol), 'its posts leave the public timeline for the blocker');
ok(in_public($bob), 'not for others');
ok(in_public(undef), 'nor anonymously');
is($t->get("/api/v1/statuses/$far", token => $carol)->{status}, 404,
   'the post itself is not found for the blocker');
is_deeply($t->get('/api/v1/notifications', token => $carol)->{json}, [],
          'notifications from there are gone');
is($t->psql("SELECT count(*) FROM follows WHERE account_id = $remote") + 0, 0,
   'the follower there is removed');

is($t->post('/api/v1/domain_blocks', token => $carol,
            form => { domain => 'not a domain' })->{status}, 422,
   'a non-domain: 422');
is($t->post('/api/v1/domain_blocks', token => $carol, form => {})->{status},
   422, 'no domain: 422');

$r = $t->delete('/api/v1/domain_blocks?domain=remote.example', token => $carol);
is($r->{status}, 200, 'DELETE /api/v1/domain_blocks');
is_deeply($t->get('/api/v1/domain_blocks', token => $carol)->{json}, [],
          'the list is empty again');
ok(in_public($carol), 'and the post is back');

# languages

$r = $t->post("/api/v1/accounts/$alice_id/follow", token => $bob,
              form => { 'languages[]' => 'de' });
is($r->{status}, 200, 'follow with languages[]');
is_deeply($r->{json}{languages}, ['de'], 'the relationship has them');
is_deeply(rel($bob, $alice_id)->{languages}, ['de'], 'and keeps them');

my $en = post($alice, status => 'in English', language => 'en');
my $de = post($alice, status => 'auf Deutsch', language => 'de');
my $none = post($alice, status => 'no language given');
my $odd = post($alice, status => 'an odd language', language => 'en","x":"y');
is($odd->{language}, undef, 'a language that is not a tag is none');
$r = $t->get('/api/v1/timelines/home', token => $bob);
my %home = map { $_ => 1 } @{ ids($r) };
ok($home{ $de->{id} }, 'home: the chosen language arrives');
ok($home{ $none->{id} }, 'and a post without a language');
ok(!$home{ $en->{id} }, 'another language does not');

$r = $t->post("/api/v1/accounts/$alice_id/follow", token => $bob,
              form => { 'languages[]' => 'x!' });
is($r->{status}, 422, 'a language that is not a code: 422');

# a poll that ended: its author and its voters are told, once

my $poll = $t->post('/api/v1/statuses', token => $alice, json => {
    status => 'which?', poll => { options => ['tea', 'coffee'],
                                  expires_in => 3600 } })->{json};
my $pid = $poll->{poll}{id};
is($t->post("/api/v1/polls/$pid/votes", token => $carol,
            json => { choices => ['1'] })->{status}, 200, 'carol votes');
$t->psql("UPDATE polls SET expires_at = now() - interval '1 second'"
         . " WHERE id = $pid");

sub poll_notes {
    my ($token) = @_;
    return [ grep { $_->{type} eq 'poll' }
             @{ $t->get('/api/v1/notifications', token => $token)->{json} } ];
}

# the workers look for ended polls every 10 s
my $n;
for (1 .. 150) {
    $n = poll_notes($alice);
    last if @$n;
    select(undef, undef, undef, 0.1);
}
is(scalar @$n, 1, 'the author is told the poll ended');
is($n->[0]{status}{id}, $poll->{id}, 'about the status');
ok($n->[0]{status}{poll}{expired}, 'which shows the poll expired');
is(scalar @{ poll_notes($carol) }, 1, 'so is the voter');
is(scalar @{ poll_notes($bob) }, 0, 'not one who did not vote');
$t->psql("SELECT fedi_polls_ended(20)");
is(scalar @{ poll_notes($carol) }, 1, 'and only once');

done_testing();
