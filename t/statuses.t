#!/usr/bin/perl

# Posting, reading and deleting statuses, following, and the home, public
# and account timelines with Mastodon's pagination; visibility rules.

use strict;
use warnings;
use utf8;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use Fedi::Test;

my $t = Fedi::Test->new(app_name => 'statuses');
$t->write_default_conf("    fedi_max_characters 100;\n");
$t->run();

my ($alice, $alice_id) = $t->sign_up('alice');
my ($bob, $bob_id) = $t->sign_up('bob');
my ($carol, $carol_id) = $t->sign_up('carol');

# follow

my $r = $t->post("/api/v1/accounts/$alice_id/follow", token => $bob);
ok($r->{json}{following}, 'bob follows alice');
$r = $t->post("/api/v1/accounts/$alice_id/follow", token => $bob);
ok($r->{json}{following}, 'following again is harmless');
is($t->get("/api/v1/accounts/$alice_id")->{json}{followers_count}, 1,
   'alice has one follower');
is($t->post("/api/v1/accounts/99999/follow", token => $bob)->{status}, 404,
   'following nobody');
is($t->post("/api/v1/accounts/$bob_id/follow", token => $bob)->{status}, 404,
   'nor oneself');

# posting

$r = $t->post('/api/v1/statuses', token => $alice, json => {
    status => "Hello \@bob and \@nobody! #Fedi #2024 see https://example.com/x <b>",
    language => 'en' });
is($r->{status}, 200, 'a post');
my $s = $r->{json};
like($s->{id}, qr/^\d+$/, 'an id');
is($s->{account}{username}, 'alice', 'by alice');
is($s->{visibility}, 'public', 'public by default');
is($s->{language}, 'en', 'language');
like($s->{content}, qr{<a href="http://[^"]+/\@bob" class="u-url mention">\@<span>bob</span></a>},
     'a mention of a local account is a link');
like($s->{content}, qr{\@nobody}, 'an unknown one stays text');
unlike($s->{content}, qr{/\@nobody"}, 'and is not linked');
like($s->{content}, qr{<a href="[^"]+/tags/Fedi" class="mention hashtag" rel="tag">#<span>Fedi</span></a>},
     'a hashtag');
unlike($s->{content}, qr{tags/2024}, 'digits alone are no hashtag');
like($s->{content}, qr{<a href="https://example.com/x"}, 'a link');
like($s->{content}, qr{&lt;b&gt;}, 'markup escaped');
is_deeply([ map { $_->{acct} } @{ $s->{mentions} } ], ['bob'], 'mentions');
is_deeply([ map { $_->{name} } @{ $s->{tags} } ], ['fedi'], 'tags');
is($s->{application}{name}, 'statuses', 'the application');
ok(!$s->{favourited} && !$s->{reblogged}, 'viewer flags');
like($s->{uri}, qr{/users/alice/statuses/$s->{id}$}, 'uri');
like($s->{url}, qr{/\@alice/$s->{id}$}, 'url');

$r = $t->post('/api/v1/statuses', token => $alice, json => {
    status => 'x' x 101 });
is($r->{status}, 422, 'over the character limit');
$r = $t->post('/api/v1/statuses', token => $alice, json => {
    status => 'https://example.com/' . ('a' x 200) . ' ' . ('é' x 70) });
is($r->{status}, 200, 'a URL counts 23, characters not bytes');
my $long_id = $r->{json}{id};
$r = $t->post('/api/v1/statuses', token => $alice, form => { status => '' });
is($r->{status}, 422, 'an empty status');
$r = $t->post('/api/v1/statuses', token => $alice,
              form => { status => 'x', visibility => 'everyone' });
is($r->{status}, 422, 'an unknown visibility');

my $private = $t->post('/api/v1/statuses', token => $alice,
    form => { status => 'for followers', visibility => 'private' })->{json};
my $direct = $t->post('/api/v1/statuses', token => $alice,
    form => { status => 'psst @carol', visibility => 'direct' })->{json};
my $reply = $t->post('/api/v1/statuses', token => $bob, json => {
    status => '@alice hi back', in_reply_to_id => $s->{id} })->{json};
is($reply->{in_reply_to_id}, $s->{id}, 'a reply');
is($reply->{in_reply_to_account_id}, $alice_id, 'to alice');
is($t->get("/api/v1/statuses/$s->{id}")->{json}{replies_count}, 1,
   'counted');

# Idempotency-Key: a retried post is the same post
my @twice = map {
    $t->post('/api/v1/statuses', token => $alice, form => { status => 'once' },
             headers => { 'Idempotency-Key' => 'k-123' })->{json}{id}
} 1 .. 2;
is($twice[0], $twice[1], 'Idempotency-Key: the same status twice');
my $other = $t->post('/api/v1/statuses', token => $carol,
                     form => { status => 'once' },
                     headers => { 'Idempotency-Key' => 'k-123' })->{json}{id};
isnt($other, $twice[0], 'keys are per account');
$t->delete("/api/v1/statuses/$twice[0]", token => $alice);
$t->delete("/api/v1/statuses/$other", token => $carol);

# visibility

is($t->get("/api/v1/statuses/$s->{id}")->{status}, 200,
   'a public status without a token');
is($t->get("/api/v1/statuses/$private->{id}")->{status}, 404,
   'a private one is 404 to strangers');
is($t->get("/api/v1/statuses/$private->{id}", token => $carol)->{status}, 404,
   'and to a non-follower');
is($t->get("/api/v1/statuses/$private->{id}", token => $bob)->{status}, 200,
   'visible to a follower');
is($t->get("/api/v1/statuses/$direct->{id}", token => $bob)->{status}, 404,
   'a direct message is not for followers');
is($t->get("/api/v1/statuses/$direct->{id}", token => $carol)->{status}, 200,
   'but for the mentioned');

# conversations

$r = $t->get('/api/v1/conversations', token => $carol);
is(scalar @{ $r->{json} }, 1, 'carol has one conversation');
is($r->{json}[0]{last_status}{id}, $direct->{id}, 'its last status');
is_deeply([ map { $_->{username} } @{ $r->{json}[0]{accounts} } ], ['alice'],
          'with the other participant');
my $dm_reply = $t->post('/api/v1/statuses', token => $carol, form => {
    status => '@alice got it', visibility => 'direct',
    in_reply_to_id => $direct->{id} })->{json};
$r = $t->get('/api/v1/conversations', token => $alice);
my ($conv) = grep { $_->{last_status}{id} eq $dm_reply->{id} } @{ $r->{json} };
ok($conv, 'the reply is the conversation\'s last status, for alice too');
is_deeply([ map { $_->{username} } @{ $conv->{accounts} } ], ['carol'],
          'alice sees carol in it');
is_deeply($t->get('/api/v1/conversations', token => $bob)->{json}, [],
          'bob has none');

# home timelines

$r = $t->get('/api/v1/timelines/home', token => $bob);
my @ids = map { $_->{id} } @{ $r->{json} };
ok((grep { $_ eq $s->{id} } @ids), 'the follower sees the post');
ok((grep { $_ eq $private->{id} } @ids), 'and the private one');
ok(!(grep { $_ eq $direct->{id} } @ids), 'not the direct message');
ok((grep { $_ eq $reply->{id} } @ids), 'and their own reply');
is_deeply(\@ids, [ sort { $b <=> $a } @ids ], 'newest first');

$r = $t->get('/api/v1/timelines/home', token => $carol);
is_deeply([ map { $_->{id} } @{ $r->{json} } ], [$dm_reply->{id}, $direct->{id}],
          'a stranger\'s home has only what mentions them, and their own');

# pagination

my @all = map { $_->{id} } @{ $t->get('/api/v1/timelines/home', token => $alice)->{json} };
ok(@all >= 5, 'alice sees her own posts (' . scalar(@all) . ')');
$r = $t->get('/api/v1/timelines/home?limit=2', token => $alice);
is_deeply([ map { $_->{id} } @{ $r->{json} } ], [ @all[0, 1] ], 'limit');
my ($next) = ($r->{headers}{link} // '') =~ /<([^>]+)>; rel="next"/;
my ($prev) = ($r->{headers}{link} // '') =~ /<([^>]+)>; rel="prev"/;
like($next, qr{^http://[^/]+/api/v1/timelines/home\?limit=2&max_id=$all[1]$},
     'Link rel="next" is absolute with max_id');
like($prev, qr{min_id=$all[0]$}, 'rel="prev" with min_id');
(my $path = $next) =~ s{^http://[^/]+}{};
$r = $t->get($path, token => $alice);
is_deeply([ map { $_->{id} } @{ $r->{json} } ], [ @all[2, 3] ],
          'the next page: max_id is a strict bound');
$r = $t->get("/api/v1/timelines/home?min_id=$all[3]&limit=2", token => $alice);
is_deeply([ map { $_->{id} } @{ $r->{json} } ], [ @all[1, 2] ],
          'min_id: the page right after the cursor, newest first');
$r = $t->get("/api/v1/timelines/home?since_id=$all[3]&limit=2", token => $alice);
is_deeply([ map { $_->{id} } @{ $r->{json} } ], [ @all[0, 1] ],
          'since_id: the newest, after the cursor');
$r = $t->get("/api/v1/timelines/home?max_id=1", token => $alice);
is_deeply($r->{json}, [], 'an empty page');
ok(!$r->{headers}{link}, 'has no Link');

# public and account timelines

$r = $t->get('/api/v1/timelines/public?local=true');
@ids = map { $_->{id} } @{ $r->{json} };
ok((grep { $_ eq $s->{id} } @ids), 'the public timeline');
ok(!(grep { $_ eq $private->{id} || $_ eq $direct->{id} } @ids),
   'without private or direct posts');

$r = $t->get("/api/v1/accounts/$alice_id/statuses");
@ids = map { $_->{id} } @{ $r->{json} };
ok((grep { $_ eq $s->{id} } @ids) && !(grep { $_ eq $private->{id} } @ids),
   'an account\'s statuses, public ones to strangers');
$r = $t->get("/api/v1/accounts/$alice_id/statuses", token => $bob);
ok((grep { $_ eq $private->{id} } map { $_->{id} } @{ $r->{json} }),
   'and the private ones to followers');
$r = $t->get("/api/v1/accounts/$bob_id/statuses?exclude_replies=true");
is_deeply($r->{json}, [], 'exclude_replies');
is($t->get("/api/v1/accounts/$alice_id")->{json}{statuses_count}, 4,
   'statuses_count');

# delete

is($t->delete("/api/v1/statuses/$s->{id}", token => $bob)->{status}, 404,
   'nobody deletes what is not theirs');
$r = $t->delete("/api/v1/statuses/$long_id", token => $alice);
is($r->{status}, 200, 'delete');
like($r->{json}{text}, qr/^https:\/\/example.com\/a+ é+$/,
     'answers the source text, for delete-and-redraft');
is($r->{json}{id}, $long_id, 'with the status');
is($t->get("/api/v1/statuses/$long_id")->{status}, 404, 'gone');
is($t->delete("/api/v1/statuses/$long_id", token => $alice)->{status}, 404,
   'once');
is($t->get("/api/v1/accounts/$alice_id")->{json}{statuses_count}, 3,
   'counted down');

# unfollow

$r = $t->post("/api/v1/accounts/$alice_id/unfollow", token => $bob);
ok(!$r->{json}{following}, 'unfollow');
@ids = map { $_->{id} } @{ $t->get('/api/v1/timelines/home', token => $bob)->{json} };
ok(!(grep { $_ eq $private->{id} } @ids), 'her posts leave his home');

# a locked account

$t->patch('/api/v1/accounts/update_credentials', token => $carol,
          form => { locked => 'true' });
$r = $t->post("/api/v1/accounts/$carol_id/follow", token => $bob);
ok($r->{json}{requested} && !$r->{json}{following},
   'following a locked account is a request');

is($t->get('/api/v1/timelines/home')->{status}, 401, 'home needs a token');

# favourites and bookmarks

my ($dave, $dave_id) = $t->sign_up('dave');
my $post = $t->post('/api/v1/statuses', token => $dave,
                    form => { status => 'like me' })->{json};
$r = $t->post("/api/v1/statuses/$post->{id}/favourite", token => $alice);
ok($r->{json}{favourited}, 'favourite');
is($r->{json}{favourites_count}, 1, 'counted');
$r = $t->post("/api/v1/statuses/$post->{id}/favourite", token => $alice);
is($r->{json}{favourites_count}, 1, 'twice is once');
$r = $t->post("/api/v1/statuses/$post->{id}/bookmark", token => $alice);
ok($r->{json}{bookmarked}, 'bookmark');
my $dm = $t->post('/api/v1/statuses', token => $dave,
                  form => { status => 'secret', visibility => 'direct' })->{json};
is($t->post("/api/v1/statuses/$dm->{id}/favourite", token => $alice)->{status},
   404, 'what one cannot see cannot be favourited');

$r = $t->get('/api/v1/favourites', token => $alice);
is_deeply([ map { $_->{id} } @{ $r->{json} } ], [$post->{id}], 'favourites');
like($r->{headers}{link} // '', qr/max_id=\d+>; rel="next"/,
     'paged by the favourite, not the status');
is_deeply([ map { $_->{id} } @{ $t->get('/api/v1/bookmarks', token => $alice)->{json} } ],
          [$post->{id}], 'bookmarks');
is_deeply($t->get('/api/v1/bookmarks', token => $dave)->{json}, [],
          'bookmarks are private');

$r = $t->post("/api/v1/statuses/$post->{id}/unfavourite", token => $alice);
ok(!$r->{json}{favourited} && $r->{json}{favourites_count} == 0,
   'unfavourite');
$r = $t->post("/api/v1/statuses/$post->{id}/unbookmark", token => $alice);
ok(!$r->{json}{bookmarked}, 'unbookmark');

# boosts

$t->post("/api/v1/accounts/$bob_id/follow", token => $carol);
$r = $t->post("/api/v1/statuses/$post->{id}/reblog", token => $bob);
is($r->{status}, 200, 'a boost');
my $boost = $r->{json};
is($boost->{account}{username}, 'bob', 'by bob');
is($boost->{reblog}{id}, $post->{id}, 'of dave\'s post');
is($boost->{reblog}{account}{username}, 'dave', 'the boosted author');
is($boost->{reblog}{reblogs_count}, 1, 'counted');
is($boost->{content}, '', 'a boost has no content of its own');
is($t->post("/api/v1/statuses/$post->{id}/reblog", token => $bob)->{json}{id},
   $boost->{id}, 'boosting twice gives the same boost');
@ids = map { $_->{id} } @{ $t->get('/api/v1/timelines/home', token => $carol)->{json} };
ok((grep { $_ eq $boost->{id} } @ids), 'the boost reaches the booster\'s followers');
is($t->get("/api/v1/statuses/$boost->{id}")->{json}{reblog}{id}, $post->{id},
   'a boost read by its id');
$t->post("/api/v1/accounts/$alice_id/follow", token => $bob);
is($t->post("/api/v1/statuses/$private->{id}/reblog", token => $bob)->{status},
   403, 'a private post cannot be boosted by others');
is($t->post("/api/v1/statuses/$dm->{id}/reblog", token => $bob)->{status},
   404, 'nor what one cannot see');
ok((grep { $_->{type} eq 'reblog' }
    @{ $t->get('/api/v1/notifications', token => $dave)->{json} }),
   'dave is notified');
$r = $t->post("/api/v1/statuses/$post->{id}/unreblog", token => $bob);
is($r->{json}{id}, $post->{id}, 'unreblog answers the boosted status');
is($r->{json}{reblogs_count}, 0, 'uncounted');
is($t->get("/api/v1/statuses/$boost->{id}")->{status}, 404, 'the boost is gone');

# a thread

my $t1 = $t->post('/api/v1/statuses', token => $dave,
                  form => { status => 'root' })->{json};
my $t2 = $t->post('/api/v1/statuses', token => $alice,
                  form => { status => 'reply', in_reply_to_id => $t1->{id} })->{json};
my $t3 = $t->post('/api/v1/statuses', token => $dave,
                  form => { status => 'reply 2', in_reply_to_id => $t2->{id} })->{json};
my $t4 = $t->post('/api/v1/statuses', token => $dave, form => {
    status => 'hidden', visibility => 'direct', in_reply_to_id => $t2->{id} })->{json};
$r = $t->get("/api/v1/statuses/$t2->{id}/context");
is_deeply([ map { $_->{id} } @{ $r->{json}{ancestors} } ], [$t1->{id}],
          'context: ancestors');
is_deeply([ map { $_->{id} } @{ $r->{json}{descendants} } ], [$t3->{id}],
          'context: descendants the viewer may see');
$r = $t->get("/api/v1/statuses/$t2->{id}/context", token => $dave);
is_deeply([ map { $_->{id} } @{ $r->{json}{descendants} } ],
          [$t3->{id}, $t4->{id}], 'the author sees his direct reply too');
is($t->get("/api/v1/statuses/$dm->{id}/context")->{status}, 404,
   'the context of what one cannot see is 404');

# polls

$r = $t->post('/api/v1/statuses', token => $dave, form => {
    status => 'pick one', 'poll[options][]' => 'cats',
    'poll[expires_in]' => 3600 });
is($r->{status}, 422, 'a poll needs two options');
$r = $t->post('/api/v1/statuses', token => $dave, json => {
    status => 'pick', poll => { options => ['cats', 'dogs', 'birds'],
                                expires_in => 3600, multiple => JSON::PP::true } });
is($r->{status}, 200, 'a post with a poll');
my $poll = $r->{json}{poll};
is_deeply([ map { $_->{title} } @{ $poll->{options} } ], [qw(cats dogs birds)],
          'the options in order');
ok($poll->{multiple} && !$poll->{expired}, 'multiple, not expired');
like($poll->{expires_at}, qr/^\d{4}-/, 'expires_at');
$r = $t->post("/api/v1/polls/$poll->{id}/votes", token => $alice,
              json => { choices => ['0', '2'] });
is($r->{status}, 200, 'a vote');
is_deeply($r->{json}{own_votes}, [0, 2], 'own_votes');
ok($r->{json}{voted}, 'voted');
is($r->{json}{votes_count}, 2, 'two votes');
is($r->{json}{voters_count}, 1, 'one voter');
is($r->{json}{options}[2]{votes_count}, 1, 'counted per option');
is($t->post("/api/v1/polls/$poll->{id}/votes", token => $alice,
            json => { choices => ['1'] })->{status}, 422, 'once per voter');
is($t->post("/api/v1/polls/$poll->{id}/votes", token => $bob,
            json => { choices => ['7'] })->{status}, 422,
   'a choice out of range');
is($t->post("/api/v1/polls/$poll->{id}/votes", token => $dave,
            json => { choices => ['1'] })->{status}, 422,
   'not in one\'s own poll');
$r = $t->get("/api/v1/polls/$poll->{id}");
is($r->{json}{votes_count}, 2, 'GET the poll');
# ended (its notifications are t/extras.t's: none here)
$t->psql("UPDATE polls SET expires_at = now() - interval '1s',"
         . " ended_notified = true");
is($t->post("/api/v1/polls/$poll->{id}/votes", token => $bob,
            json => { choices => ['1'] })->{status}, 422, 'an ended poll');
ok($t->get("/api/v1/polls/$poll->{id}")->{json}{expired}, 'expired');

# hashtag timelines

my $h1 = $t->post('/api/v1/statuses', token => $dave,
                  form => { status => '#cats and #dogs' })->{json};
my $h2 = $t->post('/api/v1/statuses', token => $dave,
                  form => { status => 'only #Cats' })->{json};
my $h3 = $t->post('/api/v1/statuses', token => $dave,
                  form => { status => '#birds' })->{json};
my $h4 = $t->post('/api/v1/statuses', token => $dave, form => {
    status => '#cats in private', visibility => 'private' })->{json};
sub tag_ids {
    return [ map { $_->{id} } @{ $t->get($_[0])->{json} } ];
}
is_deeply(tag_ids('/api/v1/timelines/tag/cats'), [$h2->{id}, $h1->{id}],
          'a tag, case-insensitive, public posts only');
is_deeply(tag_ids('/api/v1/timelines/tag/cats?any[]=birds'),
          [$h3->{id}, $h2->{id}, $h1->{id}], 'any[]');
is_deeply(tag_ids('/api/v1/timelines/tag/cats?all[]=dogs'), [$h1->{id}],
          'all[]');
is_deeply(tag_ids('/api/v1/timelines/tag/cats?none[]=dogs'), [$h2->{id}],
          'none[]');
is_deeply(tag_ids('/api/v1/timelines/tag/nothing'), [], 'an unknown tag');

# edits, pins, several at once

my $e = $t->post('/api/v1/statuses', token => $dave,
                 form => { status => 'first #one' })->{json};
$r = $t->put("/api/v1/statuses/$e->{id}", token => $dave,
             json => { status => 'second #two @alice', spoiler_text => 'cw' });
is($r->{status}, 200, 'an edit');
like($r->{json}{content}, qr/second/, 'new content');
ok($r->{json}{edited_at}, 'edited_at');
is($r->{json}{spoiler_text}, 'cw', 'spoiler_text');
is_deeply([ map { $_->{name} } @{ $r->{json}{tags} } ], ['two'], 'tags follow');
is_deeply([ map { $_->{acct} } @{ $r->{json}{mentions} } ], ['alice'],
          'mentions follow');
is($t->put("/api/v1/statuses/$e->{id}", token => $alice,
           json => { status => 'mine now' })->{status}, 404,
   'nobody edits what is not theirs');
$r = $t->get("/api/v1/statuses/$e->{id}/history");
is_deeply([ map { $_->{content} =~ /first/ ? 'first' : 'second' } @{ $r->{json} } ],
          ['first', 'second'], 'history: oldest first, the current last');
is($r->{json}[0]{account}{username}, 'dave', 'with the author');
$r = $t->get("/api/v1/statuses/$e->{id}/source", token => $dave);
is($r->{json}{text}, 'second #two @alice', 'source: what was typed');
is($t->get("/api/v1/statuses/$e->{id}/source", token => $alice)->{status},
   404, 'the source is the author\'s');

$r = $t->post("/api/v1/statuses/$e->{id}/pin", token => $dave);
ok($r->{json}{pinned}, 'pin');
is($t->post("/api/v1/statuses/$e->{id}/pin", token => $alice)->{status}, 422,
   'only one\'s own');
$r = $t->get("/api/v1/accounts/$dave_id/statuses?pinned=true");
is_deeply([ map { $_->{id} } @{ $r->{json} } ], [$e->{id}], 'pinned=true');
for (1 .. 5) {
    my $x = $t->post('/api/v1/statuses', token => $dave,
                     form => { status => "pin $_" })->{json};
    $r = $t->post("/api/v1/statuses/$x->{id}/pin", token => $dave);
}
is($r->{status}, 422, 'five pins at most');
$r = $t->post("/api/v1/statuses/$e->{id}/unpin", token => $dave);
ok(!$r->{json}{pinned}, 'unpin');

$r = $t->get("/api/v1/statuses?id[]=$e->{id}&id[]=$dm->{id}&id[]=$post->{id}&id[]=x");
is_deeply([ sort map { $_->{id} } @{ $r->{json} } ],
          [ sort ($e->{id}, $post->{id}) ],
          'several at once: those one may see');

# an account with many followers: its posts reach their feeds in the
# background (fanout_jobs, woken by NOTIFY), not in the posting request

$t->psql("INSERT INTO accounts (username)"
         . " SELECT 'fan' || g FROM generate_series(1, 250) g");
$t->psql("INSERT INTO follows (account_id, target_account_id)"
         . " SELECT id, $dave_id FROM accounts WHERE username LIKE 'fan%'");
$t->psql("UPDATE accounts SET followers_count = followers_count + 250"
         . " WHERE id = $dave_id");
my $big = $t->post('/api/v1/statuses', token => $dave,
                   form => { status => 'to my many followers' })->{json};
my $fed = 0;

# within 5 s, shorter than the 10 s fallback timer: the NOTIFY woke it
for (1 .. 50) {
    ($fed) = $t->psql("SELECT count(*) FROM feeds f JOIN accounts a"
                      . " ON a.id = f.account_id WHERE f.status_id = $big->{id}"
                      . " AND a.username LIKE 'fan%'") =~ /(\d+)/;
    last if $fed >= 250;
    select(undef, undef, undef, 0.1);
}
is($fed, 250, 'a post to 250 followers reaches every feed, in the background');
like($t->psql("SELECT count(*) FROM fanout_jobs"), qr/^\s*0\s*$/m,
     'and the job is done');

# one fan-out runner at a time: while another holds it, the job waits,
# and the worker that found it busy looks again soon after (not only at
# the 10 s fallback timer)
sub fed_fans {
    my ($id) = @_;
    my ($n) = $t->psql("SELECT count(*) FROM feeds f JOIN accounts a"
                       . " ON a.id = f.account_id WHERE f.status_id = $id"
                       . " AND a.username LIKE 'fan%'") =~ /(\d+)/;
    return $n;
}

{
    my $busy = $t->hold_advisory('fedi_fanout_run');
    my $held = $t->post('/api/v1/statuses', token => $dave,
                        form => { status => 'while the fan-out is busy' })->{json};
    select(undef, undef, undef, 0.5);
    is(fed_fans($held->{id}), 0, 'another runner holds the fan-out: the post waits');
    like($t->psql("SELECT count(*) FROM fanout_jobs"), qr/^\s*1\s*$/m,
         'as a job');
    $busy->release();

    for (1 .. 50) {
        last if fed_fans($held->{id}) >= 250;
        select(undef, undef, undef, 0.1);
    }
    is(fed_fans($held->{id}), 250, 'released: the waiting post reaches every feed');
}

# a status removed for good leaves no feed rows behind (the feeds keep no
# foreign keys; a trigger cleans up)
$t->psql("DELETE FROM statuses WHERE id = $big->{id}");
is(fed_fans($big->{id}), 0, 'a status deleted from the table leaves the feeds');

# notifications

$r = $t->get('/api/v1/notifications', token => $alice);
my @types = map { $_->{type} } @{ $r->{json} };
ok((grep { $_ eq 'follow' } @types), 'a follow notification');
ok((grep { $_ eq 'favourite' } @types) == 0,
   'the favourite was undone, so was its notification');
$r = $t->get('/api/v1/notifications', token => $bob);
my ($mention) = grep { $_->{type} eq 'mention' } @{ $r->{json} };
ok($mention, 'bob was mentioned');
is($mention->{account}{username}, 'alice', 'by alice');
is($mention->{status}{id}, $s->{id}, 'with the status');
like($mention->{group_key}, qr/^ungrouped-\d+$/, 'mentions are not grouped');

$t->post("/api/v1/statuses/$post->{id}/favourite", token => $_)
    for $alice, $bob, $carol;
$r = $t->get("/api/v1/statuses/$post->{id}/favourited_by");
is_deeply([ map { $_->{username} } @{ $r->{json} } ], [qw(carol bob alice)],
          'favourited_by, newest first');
$r = $t->get("/api/v1/statuses/$post->{id}/favourited_by?limit=1");
like($r->{headers}{link} // '', qr/max_id=\d+>; rel="next"/, 'paged');
$t->post("/api/v1/statuses/$post->{id}/reblog", token => $carol);
is_deeply([ map { $_->{username} } @{ $t->get("/api/v1/statuses/$post->{id}/reblogged_by")->{json} } ],
          ['carol'], 'reblogged_by');
is($t->get("/api/v1/statuses/$dm->{id}/favourited_by")->{status}, 200,
   'favourited_by of what one cannot see');
is_deeply($t->get("/api/v1/statuses/$dm->{id}/favourited_by")->{json}, [],
          'is empty');

$r = $t->get('/api/v1/notifications?types[]=favourite', token => $dave);
is(scalar @{ $r->{json} }, 3, 'types[] filters');
is($r->{json}[0]{account}{username}, 'carol', 'newest first');
$r = $t->get('/api/v1/notifications?exclude_types[]=favourite', token => $dave);
ok(!(grep { $_->{type} eq 'favourite' } @{ $r->{json} }), 'exclude_types[]');
$r = $t->get("/api/v1/notifications?account_id=$bob_id", token => $dave);
is(scalar @{ $r->{json} }, 1, 'account_id');

$r = $t->get('/api/v2/notifications', token => $dave);
my ($fav) = grep { $_->{type} eq 'favourite' } @{ $r->{json}{notification_groups} };
is($fav->{notifications_count}, 3, 'v2 groups the three favourites');
is(scalar @{ $fav->{sample_account_ids} }, 3, 'with their accounts');
is($fav->{status_id}, $post->{id}, 'and the status');
is(scalar(grep { $_->{id} eq $post->{id} } @{ $r->{json}{statuses} }), 1,
   'statuses listed once');
my %seen;
ok(!(grep { $seen{$_->{id}}++ } @{ $r->{json}{accounts} }), 'accounts once');

$r = $t->get("/api/v2/notifications/$fav->{group_key}/accounts", token => $dave);
is_deeply([ map { $_->{username} } @{ $r->{json} } ], [qw(carol bob alice)],
          'the accounts of a group');
is_deeply($t->get("/api/v2/notifications/$fav->{group_key}/accounts",
                  token => $alice)->{json}, [], 'only one\'s own groups');

$r = $t->get('/api/v1/notifications/unread_count', token => $dave);
is($r->{json}{count}, 4, 'unread_count: three favourites and a boost');
my $newest = $t->get('/api/v1/notifications', token => $dave)->{json}[0]{id};
$t->post('/api/v1/markers', token => $dave,
         form => { 'notifications[last_read_id]' => $newest });
is($t->get('/api/v1/notifications/unread_count', token => $dave)->{json}{count},
   0, 'the marker reads them');

$r = $t->get("/api/v1/notifications/$newest", token => $dave);
is($r->{json}{id}, $newest, 'one notification');
is($t->get("/api/v1/notifications/$newest", token => $bob)->{status}, 404,
   'not someone else\'s');
$t->post("/api/v1/notifications/$newest/dismiss", token => $dave);
is($t->get("/api/v1/notifications/$newest", token => $dave)->{status}, 404,
   'dismissed');
$t->post('/api/v1/notifications/clear', token => $dave);
is_deeply($t->get('/api/v1/notifications', token => $dave)->{json}, [],
          'cleared');

# muting a conversation: the thread notifies the muter no more

my $root = $t->post('/api/v1/statuses', token => $bob,
                    form => { status => '@alice a thread' })->{json};
my $in_thread = $t->post('/api/v1/statuses', token => $alice, form => {
    status => 'my part', in_reply_to_id => $root->{id} })->{json};
ok(!$t->get("/api/v1/statuses/$root->{id}", token => $alice)->{json}{muted},
   'a thread is not muted at first');
$r = $t->post("/api/v1/statuses/$in_thread->{id}/mute", token => $alice);
is($r->{status}, 200, 'mute a conversation');
ok($r->{json}{muted}, 'the status says muted');
ok($t->get("/api/v1/statuses/$root->{id}", token => $alice)->{json}{muted},
   'so does every status of the thread');
ok(!$t->get("/api/v1/statuses/$root->{id}", token => $bob)->{json}{muted},
   'but not for someone else');
my $muted_reply = $t->post('/api/v1/statuses', token => $bob, form => {
    status => '@alice more', in_reply_to_id => $in_thread->{id} })->{json};
$t->post("/api/v1/statuses/$in_thread->{id}/favourite", token => $bob);
my %notified = map { ($_->{status}{id} // '') => $_->{type} }
    @{ $t->get('/api/v1/notifications', token => $alice)->{json} };
ok(!$notified{$muted_reply->{id}}, 'no mention from a muted thread');
ok(!$notified{$in_thread->{id}}, 'no favourite either');
my $elsewhere = $t->post('/api/v1/statuses', token => $bob,
                         form => { status => '@alice elsewhere' })->{json};
ok((grep { ($_->{status}{id} // '') eq $elsewhere->{id} }
    @{ $t->get('/api/v1/notifications', token => $alice)->{json} }),
   'other threads still notify');
$r = $t->post("/api/v1/statuses/$root->{id}/unmute", token => $alice);
is($r->{status}, 200, 'unmute');
ok(!$r->{json}{muted}, 'no longer muted');
my $after = $t->post('/api/v1/statuses', token => $bob, form => {
    status => '@alice back', in_reply_to_id => $root->{id} })->{json};
ok((grep { ($_->{status}{id} // '') eq $after->{id} }
    @{ $t->get('/api/v1/notifications', token => $alice)->{json} }),
   'the thread notifies again');
my $hidden = $t->post('/api/v1/statuses', token => $alice, form => {
    status => '@carol psst', visibility => 'direct' })->{json};
is($t->post("/api/v1/statuses/$hidden->{id}/mute", token => $bob)->{status},
   404, 'a status one may not see cannot be muted');
is($t->post('/api/v1/statuses/99999/mute', token => $alice)->{status}, 404,
   'nor one that does not exist');
is($t->post("/api/v1/statuses/$root->{id}/mute")->{status}, 401,
   'muting needs a user');

# conversations: read, removed, unread

my $dm1 = $t->post('/api/v1/statuses', token => $alice, form => {
    status => '@bob between us', visibility => 'direct' })->{json};
my ($bconv) = grep { $_->{last_status}{id} eq $dm1->{id} }
    @{ $t->get('/api/v1/conversations', token => $bob)->{json} };
ok($bconv && $bconv->{unread}, 'a new direct message is unread');
my ($aconv) = grep { $_->{last_status}{id} eq $dm1->{id} }
    @{ $t->get('/api/v1/conversations', token => $alice)->{json} };
ok($aconv && !$aconv->{unread}, 'but not for its sender');
$r = $t->post("/api/v1/conversations/$bconv->{id}/read", token => $bob);
is($r->{status}, 200, 'mark a conversation read');
is($r->{json}{id}, $bconv->{id}, 'it answers the conversation');
ok(!$r->{json}{unread}, 'read');
is($r->{json}{last_status}{id}, $dm1->{id}, 'with its last status');
($bconv) = grep { $_->{id} eq $bconv->{id} }
    @{ $t->get('/api/v1/conversations', token => $bob)->{json} };
ok(!$bconv->{unread}, 'and stays read');
is($t->post("/api/v1/conversations/$bconv->{id}/read", token => $carol)
   ->{status}, 404, 'not a conversation one is not in');
my $dm2 = $t->post('/api/v1/statuses', token => $alice, form => {
    status => '@bob again', visibility => 'direct',
    in_reply_to_id => $dm1->{id} })->{json};
($bconv) = grep { $_->{id} eq $bconv->{id} }
    @{ $t->get('/api/v1/conversations', token => $bob)->{json} };
ok($bconv->{unread}, 'a newer message makes it unread again');
is($bconv->{last_status}{id}, $dm2->{id}, 'with that message last');
$r = $t->delete("/api/v1/conversations/$bconv->{id}", token => $bob);
is($r->{status}, 200, 'remove a conversation');
is_deeply($r->{json}, {}, 'answered with an empty object');
ok(!(grep { $_->{id} eq $bconv->{id} }
     @{ $t->get('/api/v1/conversations', token => $bob)->{json} }),
   'it is gone from the list');
ok((grep { $_->{id} eq $bconv->{id} }
    @{ $t->get('/api/v1/conversations', token => $alice)->{json} }),
   'not from the other participant\'s');
is($t->post("/api/v1/conversations/$bconv->{id}/read", token => $bob)
   ->{status}, 404, 'a removed conversation cannot be read');
is($t->delete("/api/v1/conversations/$bconv->{id}", token => $carol)->{status},
   404, 'nor removed by a stranger');
is($t->delete('/api/v1/conversations/99999', token => $bob)->{status}, 404,
   'nor one that does not exist');
my $dm3 = $t->post('/api/v1/statuses', token => $alice, form => {
    status => '@bob still there?', visibility => 'direct',
    in_reply_to_id => $dm2->{id} })->{json};
($bconv) = grep { $_->{id} eq $bconv->{id} }
    @{ $t->get('/api/v1/conversations', token => $bob)->{json} };
ok($bconv && $bconv->{unread}, 'a new message brings it back, unread');
is($bconv && $bconv->{last_status}{id}, $dm3->{id}, 'with the new message');

$t->done_testing();
