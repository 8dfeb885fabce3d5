#!/usr/bin/perl

# What clients ask about accounts at start: the CredentialAccount,
# update_credentials, lookups, search, relationships, preferences,
# markers, and the lists that are empty until later issues fill them.

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

my ($alice) = $t->sign_up('alice');
my ($bob) = $t->sign_up('bob');

my $r = $t->get('/api/v1/accounts/verify_credentials', token => $alice);
my $me = $r->{json};
is($r->{status}, 200, 'verify_credentials');
like($me->{id}, qr/^\d+$/, 'the id is a string of digits');
is($me->{acct}, 'alice', 'a local acct has no domain');
is($me->{url}, 'http://' . $t->domain() . '/@alice', 'the profile URL');
is($me->{uri}, 'http://' . $t->domain() . '/users/alice', 'the actor URI');
like($me->{avatar}, qr{^http://.+/fedi-static/avatar\.png$},
     'a default avatar URL');
like($me->{header}, qr{/fedi-static/header\.png$}, 'a default header URL');
like($me->{created_at}, qr/^\d{4}-\d\d-\d\dT00:00:00\.000Z$/,
     'created_at at midnight, as Mastodon shows it');
ok(exists $me->{last_status_at} && !defined $me->{last_status_at},
   'last_status_at is null, not absent');
is($me->{followers_count}, 0, 'counts are numbers');
ok(JSON::PP::is_bool($me->{locked}), 'booleans are booleans');
is($me->{source}{privacy}, 'public', 'source.privacy');
is($me->{source}{note}, '', 'source.note');
is_deeply($me->{source}{fields}, [], 'source.fields');
is($me->{role}{name}, '', 'role');

$r = $t->patch('/api/v1/accounts/update_credentials', token => $alice, form => {
    display_name => 'Alice A.', note => "Hi & <b>bye</b>\nline two",
    locked => 'true', bot => '1', discoverable => 'false',
    'fields_attributes[0][name]' => 'Web',
    'fields_attributes[0][value]' => 'https://alice.example/',
    'fields_attributes[1][name]' => 'Pronouns',
    'fields_attributes[1][value]' => 'she/her',
    'source[privacy]' => 'unlisted', 'source[sensitive]' => 'true',
    'source[language]' => 'de',
});
is($r->{status}, 200, 'update_credentials');
is($r->{json}{display_name}, 'Alice A.', 'display_name');
is($r->{json}{note}, '<p>Hi &amp; &lt;b&gt;bye&lt;/b&gt;<br />line two</p>',
   'the note is escaped HTML with a line break');
is($r->{json}{source}{note}, "Hi & <b>bye</b>\nline two",
   'source.note is what was typed');
ok($r->{json}{locked} && $r->{json}{bot}, 'locked and bot');
ok(!$r->{json}{discoverable}, 'discoverable false');
is(scalar @{ $r->{json}{fields} }, 2, 'two fields');
like($r->{json}{fields}[0]{value}, qr{^<a href="https://alice\.example/"},
     'a field URL becomes a link');
is($r->{json}{source}{fields}[0]{value}, 'https://alice.example/',
   'source.fields keeps the text');
is($r->{json}{source}{privacy}, 'unlisted', 'source[privacy]');
ok($r->{json}{source}{sensitive}, 'source[sensitive]');
is($r->{json}{source}{language}, 'de', 'source[language]');

$r = $t->patch('/api/v1/accounts/update_credentials', token => $alice,
               json => { display_name => 'x' x 31 });
is($r->{status}, 422, 'a display name over 30 characters');
$r = $t->patch('/api/v1/accounts/update_credentials', token => $alice,
               json => { note => 'é' x 500 });
is($r->{status}, 200, '500 characters of note, counted as characters');
$r = $t->patch('/api/v1/accounts/update_credentials', token => $alice,
               json => { fields_attributes => [ map { { name => "n$_",
                                                          value => 'v' } } 1 .. 5 ] });
is($r->{status}, 422, 'five fields are too many');
$r = $t->patch('/api/v1/accounts/update_credentials', token => $alice,
               json => { source => { privacy => 'everyone' } });
is($r->{status}, 422, 'an unknown privacy');
$r = $t->patch('/api/v1/accounts/update_credentials', token => $alice,
               json => { display_name => 'Alice' });
is($r->{json}{note}, '<p>' . ('é' x 500) . '</p>',
   'what was not sent stays as it was');

# other accounts

my $bob_id = $t->get('/api/v1/accounts/verify_credentials', token => $bob)
    ->{json}{id};

$r = $t->get("/api/v1/accounts/$bob_id");
is($r->{json}{username}, 'bob', 'an account without a token');
ok(!exists $r->{json}{source}, 'without source');
is($t->get('/api/v1/accounts/99999999999')->{status}, 404, 'an unknown id');
is($t->get('/api/v1/accounts/abc')->{status}, 404, 'not an id');

$r = $t->get('/api/v1/accounts/lookup?acct=bob');
is($r->{json}{id}, $bob_id, 'lookup by username');
$r = $t->get('/api/v1/accounts/lookup?acct=@bob@' . $t->domain());
is($r->{json}{id}, $bob_id, 'lookup by user@our-domain');
is($t->get('/api/v1/accounts/lookup?acct=nobody')->{status}, 404,
   'lookup of nobody');

$r = $t->get('/api/v1/accounts/search?q=bo', token => $alice);
is_deeply([ map { $_->{username} } @{ $r->{json} } ], ['bob'],
          'search by prefix');
$r = $t->get('/api/v1/accounts/search?q=%25', token => $alice);
is_deeply($r->{json}, [], 'LIKE wildcards are literal');

# relationships

$r = $t->get("/api/v1/accounts/relationships?id[]=$bob_id&id[]=42&id[]=x",
             token => $alice);
is(scalar @{ $r->{json} }, 1, 'relationships for the accounts that exist');
is($r->{json}[0]{id}, $bob_id, 'by id');
ok(!$r->{json}[0]{following} && !$r->{json}[0]{blocking},
   'nothing between them yet');
is($r->{json}[0]{note}, '', 'an empty note');

my $alice_id = $me->{id};
$t->psql("INSERT INTO follows (account_id, target_account_id)"
         . " VALUES ($bob_id, $alice_id)");
$t->psql("INSERT INTO blocks (account_id, target_account_id)"
         . " VALUES ($alice_id, $bob_id)");
$r = $t->get("/api/v1/accounts/relationships?id=$bob_id", token => $alice);
ok($r->{json}[0]{followed_by}, 'followed_by');
ok($r->{json}[0]{blocking}, 'blocking');
ok(!$r->{json}[0]{blocked_by}, 'not blocked_by');
$r = $t->get("/api/v1/accounts/relationships?id[]=$alice_id", token => $bob);
ok($r->{json}[0]{blocked_by} && $r->{json}[0]{following},
   'and the other way round');

# blocks, mutes, notes, follow requests, followers

my ($carol, $carol_id) = $t->sign_up('carol');

$r = $t->post("/api/v1/accounts/$carol_id/mute", token => $alice,
              form => { notifications => 'false', duration => 3600 });
ok($r->{json}{muting} && !$r->{json}{muting_notifications},
   'mute, keeping notifications');
ok($r->{json}{muting_expires_at}, 'for an hour');
$r = $t->get('/api/v1/mutes', token => $alice);
is($r->{json}[0]{id}, $carol_id, 'the mutes list');
ok($r->{json}[0]{mute_expires_at}, 'with mute_expires_at');
$r = $t->post("/api/v1/accounts/$carol_id/unmute", token => $alice);
ok(!$r->{json}{muting}, 'unmute');

$r = $t->post("/api/v1/accounts/$carol_id/note", token => $alice,
              form => { comment => 'met at the conference' });
is($r->{json}{note}, 'met at the conference', 'a private note');

$t->patch('/api/v1/accounts/update_credentials', token => $carol,
          form => { locked => 'true' });
$r = $t->post("/api/v1/accounts/$carol_id/follow", token => $alice);
ok($r->{json}{requested}, 'a follow request to a locked account');
$r = $t->get('/api/v1/follow_requests', token => $carol);
is_deeply([ map { $_->{id} } @{ $r->{json} } ], [$alice_id],
          'carol sees the request');
$r = $t->post("/api/v1/follow_requests/$alice_id/authorize", token => $carol);
ok($r->{json}{followed_by} && !$r->{json}{requested_by},
   'authorized: alice follows carol');
is($t->post("/api/v1/follow_requests/$alice_id/authorize", token => $carol)
   ->{status}, 404, 'once');
$r = $t->post("/api/v1/accounts/$carol_id/follow", token => $bob);
$r = $t->post("/api/v1/follow_requests/$bob_id/reject", token => $carol);
ok(!$r->{json}{followed_by}, 'rejected');

$r = $t->get("/api/v1/accounts/$carol_id/followers");
is_deeply([ map { $_->{id} } @{ $r->{json} } ], [$alice_id], 'followers');
$r = $t->get("/api/v1/accounts/$alice_id/following");
ok((grep { $_->{id} eq $carol_id } @{ $r->{json} }), 'following');
$t->patch('/api/v1/accounts/update_credentials', token => $carol,
          form => { hide_collections => 'true' });
is_deeply($t->get("/api/v1/accounts/$carol_id/followers")->{json}, [],
          'hidden collections are empty to others');
is(scalar @{ $t->get("/api/v1/accounts/$carol_id/followers",
                     token => $carol)->{json} }, 1, 'but not to the owner');

$r = $t->post("/api/v1/accounts/$alice_id/remove_from_followers",
              token => $carol);
ok(!$r->{json}{followed_by}, 'remove_from_followers');

$r = $t->post("/api/v1/accounts/$carol_id/block", token => $alice);
ok($r->{json}{blocking}, 'block');
is_deeply([ map { $_->{id} } @{ $t->get('/api/v1/blocks', token => $alice)->{json} } ],
          [$carol_id, $bob_id], 'the blocks list, newest first');
$r = $t->post("/api/v1/accounts/$carol_id/unblock", token => $alice);
ok(!$r->{json}{blocking}, 'unblock');
is($t->post("/api/v1/accounts/$alice_id/block", token => $alice)->{status},
   404, 'nobody blocks themselves');

# preferences and markers

$r = $t->get('/api/v1/preferences', token => $alice);
is($r->{json}{'posting:default:visibility'}, 'unlisted',
   'preferences follow source');
ok($r->{json}{'posting:default:sensitive'}, 'posting:default:sensitive');
is($r->{json}{'posting:default:language'}, 'de', 'posting:default:language');

$r = $t->get('/api/v1/markers?timeline[]=home', token => $alice);
is_deeply($r->{json}, {}, 'no markers yet');
$r = $t->post('/api/v1/markers', token => $alice,
              form => { 'home[last_read_id]' => '103' });
is($r->{json}{home}{last_read_id}, '103', 'a home marker');
is($r->{json}{home}{version}, 0, 'version 0');
$r = $t->post('/api/v1/markers', token => $alice, json => {
    home => { last_read_id => '104' },
    notifications => { last_read_id => '7' } });
is($r->{json}{home}{version}, 1, 'the version counts updates');
$r = $t->get('/api/v1/markers?timeline[]=home&timeline[]=notifications',
             token => $alice);
is($r->{json}{home}{last_read_id}, '104', 'read back');
is($r->{json}{notifications}{last_read_id}, '7', 'both');
like($r->{json}{home}{updated_at}, qr/^\d{4}-\d\d-\d\dT[\d:.]+Z$/,
     'updated_at');
$r = $t->get('/api/v1/markers', token => $bob);
is_deeply($r->{json}, {}, 'markers are per account');
$r = $t->post('/api/v1/markers', token => $alice,
              form => { 'home[last_read_id]' => 'abc' });
is($r->{status}, 422, 'a marker must be an id');

# the lists clients read at start, empty until their issues

for my $path (qw(/api/v1/filters /api/v2/filters /api/v1/lists
                 /api/v1/followed_tags
                 /api/v1/announcements /api/v1/trends/tags
                 /api/v1/trends/statuses /api/v1/trends/links
                 /api/v2/suggestions))
{
    $r = $t->get($path, token => $alice);
    is_deeply([$r->{status}, $r->{json}], [200, []], "$path is an empty list");
}

$t->done_testing();
