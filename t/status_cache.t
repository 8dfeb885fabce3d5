#!/usr/bin/perl

# The rendered-status cache of the workers (fedi_status_cache.c): a
# timeline read through it gives what the full statement gives (compared
# with a viewer who has a filter, whom the full statement serves), each
# viewer keeps their own marks on a shared rendering, and every change a
# status shows is seen at the next read: counts, the author's profile, an
# edit, an attachment changed after the fact, a custom emoji disabled, a
# poll's votes.  Then the same with a cache too small to hold anything.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use Fedi::Test qw(json_decode json_encode);

# one worker: each read below goes through the cache the reads before it
# filled
my $t = Fedi::Test->new(app_name => 'cache', workers => 1);
$t->write_default_conf();
$t->run();

my ($alice, $alice_id) = $t->sign_up('alice');
my ($bob, $bob_id) = $t->sign_up('bob');
my ($carol, $carol_id) = $t->sign_up('carol');
my ($dave, $dave_id) = $t->sign_up('dave');

for my $tok ($bob, $carol, $dave) {
    is($t->post("/api/v1/accounts/$alice_id/follow", token => $tok)->{status},
       200, 'a follow');
}

# carol has a filter that matches nothing here: the full statement
my $r = $t->post('/api/v2/filters', token => $carol, json => {
    title => 'Nothing', context => ['home', 'public', 'account'],
    keywords_attributes => [ { keyword => 'zebrafinch' } ] });
is($r->{status}, 200, 'carol has a filter');

sub home {
    my ($tok, $q) = @_;
    my $r = $t->get('/api/v1/timelines/home' . ($q // ''), token => $tok);
    is($r->{status}, 200, 'home') or diag($r->{body});
    return $r;
}
sub find { my ($list, $id) = @_; (grep { $_->{id} eq $id } @$list)[0] }
sub status_in {
    my ($tok, $id) = @_;
    return find(home($tok)->{json}, $id);
}

$t->psql("INSERT INTO custom_emojis (shortcode, image_url, static_url)"
         . " VALUES ('blobcat', 'https://emoji.test/b.png',"
         . " 'https://emoji.test/b.png')");

my $s1 = $t->post('/api/v1/statuses', token => $alice,
                  json => { status => 'first #cache post :blobcat:',
                            spoiler_text => 'cw' })->{json};
my $s2 = $t->post('/api/v1/statuses', token => $alice, json => {
    status => 'a poll', poll => { options => ['yes', 'no'],
                                  expires_in => 3600 } })->{json};
ok($s1->{id} && $s2->{id}, 'alice posted twice');
my $media = $t->psql("INSERT INTO media_attachments (account_id, status_id,"
                     . " type, remote_url, description, processed)"
                     . " VALUES ($alice_id, $s1->{id}, 'image',"
                     . " 'https://media.test/a.png', 'before', true)"
                     . " RETURNING id");
like($media, qr/^\d+$/, 'an attachment on the first');

# ---- the same entity either way ----

my $bob_home = home($bob)->{json};
my $bob_again = home($bob)->{json};
my $carol_home = home($carol)->{json};
is(scalar @$bob_home, 2, "bob's home has both");
is_deeply($bob_again, $bob_home, 'read again (from the cache): the same');
is_deeply($bob_home, $carol_home,
          'the same as the full statement gives carol, key for key');
my $b1 = find($bob_home, $s1->{id});
is($b1->{media_attachments}[0]{description}, 'before', 'the attachment');
is($b1->{emojis}[0]{shortcode}, 'blobcat', 'the emoji');
is($b1->{tags}[0]{name}, 'cache', 'the tag');
is($b1->{spoiler_text}, 'cw', 'the spoiler');
is($b1->{account}{id}, $alice_id, 'the author');
is_deeply($b1->{filtered}, [], 'no filter results');

# ---- each viewer's marks ----

$t->post("/api/v1/statuses/$s1->{id}/favourite", token => $bob);
$t->post("/api/v1/statuses/$s1->{id}/bookmark", token => $bob);
$t->post("/api/v1/statuses/$s1->{id}/mute", token => $bob);
my $vote = $t->post("/api/v1/polls/$s2->{poll}{id}/votes", token => $bob,
                    json => { choices => [1] });
is($vote->{status}, 200, 'bob voted');

$b1 = status_in($bob, $s1->{id});
ok($b1->{favourited} && $b1->{bookmarked} && $b1->{muted},
   'bob: favourited, bookmarked, muted');
is($b1->{favourites_count}, 1, 'bob: the new count');
my $d1 = status_in($dave, $s1->{id});
ok(!$d1->{favourited} && !$d1->{bookmarked} && !$d1->{muted},
   'dave, same rendering: none of them');
is($d1->{favourites_count}, 1, 'dave: the new count too');

my $b2 = status_in($bob, $s2->{id});
ok($b2->{poll}{voted}, "bob: voted");
is_deeply($b2->{poll}{own_votes}, [1], 'bob: his choice');
is($b2->{poll}{options}[1]{votes_count}, 1, 'bob: the count');
my $d2 = status_in($dave, $s2->{id});
ok(!$d2->{poll}{voted}, 'dave: not voted');
is($d2->{poll}{options}[1]{votes_count}, 1, 'dave: the count');

# the author's own view: pinned
$t->post("/api/v1/statuses/$s1->{id}/pin", token => $alice);
ok(status_in($alice, $s1->{id})->{pinned}, 'alice: pinned');
ok(!status_in($bob, $s1->{id})->{pinned}, 'bob: pinned is hers');

# a boost: the boosted status with bob's marks inside (erin, whom bob
# does not follow; a boost of what his home has already is left out)
my ($erin, $erin_id) = $t->sign_up('erin');
my $e1 = $t->post('/api/v1/statuses', token => $erin,
                  json => { status => 'by erin' })->{json};
is($t->post("/api/v1/accounts/$dave_id/follow", token => $bob)->{status},
   200, 'bob follows dave');
$t->post("/api/v1/statuses/$e1->{id}/favourite", token => $bob);
my $boost = $t->post("/api/v1/statuses/$e1->{id}/reblog",
                     token => $dave)->{json};
my $bb = status_in($bob, $boost->{id});
is($bb->{reblog}{id}, $e1->{id}, "bob's home: dave's boost of erin's");
ok($bb->{reblog}{favourited} && !$bb->{favourited},
   'his marks on the boosted status, not on the boost');
is($bb->{account}{id}, $dave_id, 'the boost is by dave');
is($bb->{reblog}{account}{id}, $erin_id, 'the boosted one by erin');
is($bb->{reblog}{reblogs_count}, 1, 'the boosted one counts it');
my $db = status_in($dave, $boost->{id});
ok($db->{reblog}{reblogged} && !$db->{reblog}{favourited},
   "dave's own marks on the same: reblogged, not favourited");

# ---- what a status shows, changed ----

$t->patch('/api/v1/accounts/update_credentials', token => $erin,
          json => { display_name => 'Erin Renamed' });
is(status_in($bob, $boost->{id})->{reblog}{account}{display_name},
   'Erin Renamed', "the boosted author's new name, at once");
$t->patch('/api/v1/accounts/update_credentials', token => $alice,
          json => { display_name => 'Alice Renamed' });
is(status_in($bob, $s1->{id})->{account}{display_name},
   'Alice Renamed', "the author's new name, at once");

$r = $t->put("/api/v1/statuses/$s2->{id}", token => $alice,
             json => { status => 'a poll, edited',
                       poll => { options => ['yes', 'no'],
                                 expires_in => 3600 } });
is($r->{status}, 200, 'alice edits the poll');
like(status_in($bob, $s2->{id})->{content}, qr/a poll, edited/,
     'the edit, at once');
ok(status_in($bob, $s2->{id})->{edited_at}, 'edited_at');

$t->psql("UPDATE media_attachments SET description = 'after'"
         . " WHERE id = $media");
is(status_in($bob, $s1->{id})->{media_attachments}[0]{description},
   'after', "an attachment's change, at once (sql/0040)");

$t->psql("UPDATE custom_emojis SET disabled = true"
         . " WHERE shortcode = 'blobcat'");
is_deeply(status_in($bob, $s1->{id})->{emojis}, [],
          'a disabled emoji is gone, at once');

$t->post("/api/v1/statuses/$e1->{id}/unfavourite", token => $bob);
$bb = status_in($bob, $boost->{id});
ok(!$bb->{reblog}{favourited}, 'unfavourited');
is($bb->{reblog}{favourites_count}, 0, 'the count back to 0');

# deleted: gone from every home
$t->delete("/api/v1/statuses/$boost->{id}", token => $dave);
is(status_in($bob, $boost->{id}), undef, 'a deleted boost is gone');

# ---- pages: Link and bounds as ever ----

my @ids;
for my $n (1 .. 5) {
    push @ids, $t->post('/api/v1/statuses', token => $alice,
                        json => { status => "page $n" })->{json}{id};
}
$r = home($bob, '?limit=2');
is_deeply([ map { $_->{id} } @{ $r->{json} } ], [ @ids[4, 3] ],
          'a page of two, newest first');
like($r->{headers}{link}, qr/max_id=$ids[3]>; rel="next"/, 'Link: next');
like($r->{headers}{link}, qr/min_id=$ids[4]>; rel="prev"/, 'Link: prev');
$r = home($bob, "?limit=2&min_id=$ids[0]");
is_deeply([ map { $_->{id} } @{ $r->{json} } ], [ @ids[2, 1] ],
          'min_id: the page right after the cursor');

# the public, account and tag timelines go through it too
$r = $t->get("/api/v1/accounts/$alice_id/statuses?limit=40");
is($r->{status}, 200, 'account statuses, signed out');
ok(find($r->{json}, $s1->{id}), 'with the first post');
ok(!exists find($r->{json}, $s1->{id})->{favourited},
   'and no marks for nobody');
$r = $t->get('/api/v1/timelines/tag/cache', token => $dave);
is_deeply([ map { $_->{id} } @{ $r->{json} } ], [ $s1->{id} ],
          'the tag timeline');

# ---- marks among many: more than 64 of the viewer's rows in the page's
# id range (favourites and bookmarks of erin's statuses, not on his home,
# and her polls) take the lookup by id ----

$t->psql(<<"SQL");
DO \$\$
DECLARE
    i integer;
    k integer;
BEGIN
    FOR i IN 1 .. 50 LOOP
        PERFORM fedi_post_status($alice_id, 'many ' || i,
                    '<p>many ' || i || '</p>',
                    '', false, 'public', NULL, NULL, NULL, '{}', '{}',
                    NULL, CASE WHEN i % 2 = 0 THEN ARRAY['a', 'b'] END,
                    CASE WHEN i % 2 = 0 THEN 3600 END, NULL, NULL);
        FOR k IN 1 .. 3 LOOP
            PERFORM fedi_post_status($erin_id, 'around', '<p>around</p>',
                        '', false, 'public', NULL, NULL, NULL, '{}',
                        '{}', NULL, ARRAY['c', 'd'], 3600, NULL, NULL);
        END LOOP;
    END LOOP;
END
\$\$;
INSERT INTO favourites (account_id, status_id)
SELECT $bob_id, id FROM statuses
 WHERE account_id = $erin_id
    OR (account_id = $alice_id AND text LIKE 'many %'
        AND split_part(text, ' ', 2)::integer % 3 = 0);
INSERT INTO bookmarks (account_id, status_id)
SELECT $bob_id, id FROM statuses
 WHERE account_id = $erin_id
    OR (account_id = $alice_id AND text LIKE 'many %'
        AND split_part(text, ' ', 2)::integer % 5 = 0);
-- boosts, as favourites: not in bob's home (no fan-out), one of them
-- undone, which no longer counts
INSERT INTO statuses (account_id, reblog_of_id, visibility)
SELECT $bob_id, id, 'public' FROM statuses
 WHERE account_id = $erin_id AND reblog_of_id IS NULL
    OR (account_id = $alice_id AND text LIKE 'many %'
        AND split_part(text, ' ', 2)::integer IN (14, 15, 21, 28, 35, 42, 49));
UPDATE statuses SET deleted_at = now()
 WHERE account_id = $bob_id AND reblog_of_id = (SELECT id FROM statuses
       WHERE account_id = $alice_id AND text = 'many 15');
SQL
my $page = home($bob, '?limit=40')->{json};
my $around = $t->psql("SELECT count(*) FROM favourites WHERE account_id ="
                      . " $bob_id AND status_id BETWEEN $page->[-1]{id}"
                      . " AND $page->[0]{id}");
cmp_ok($around, '>', 64, "bob's favourites in the page's range: $around");
$around = $t->psql("SELECT count(*) FROM statuses WHERE account_id ="
                   . " $bob_id AND reblog_of_id BETWEEN $page->[-1]{id}"
                   . " AND $page->[0]{id} AND deleted_at IS NULL");
cmp_ok($around, '>', 64, "bob's boosts in the page's range: $around");
# passes 1 and 2 by id (the _LIGHT_BY_ID statement: after the light
# one, then directly); 3 by the range, erin's marks and polls gone and
# the workers new (they remember bob's full ranges for a minute)
for my $pass (1, 2, 3) {
    if ($pass == 3) {
        $t->reload();
        $t->psql(<<"SQL");
DELETE FROM polls WHERE status_id IN
       (SELECT id FROM statuses WHERE account_id = $erin_id);
DELETE FROM favourites WHERE account_id = $bob_id AND status_id IN
       (SELECT id FROM statuses WHERE account_id = $erin_id);
DELETE FROM bookmarks WHERE account_id = $bob_id AND status_id IN
       (SELECT id FROM statuses WHERE account_id = $erin_id);
UPDATE statuses SET deleted_at = now()
 WHERE account_id = $bob_id AND reblog_of_id IN
       (SELECT id FROM statuses WHERE account_id = $erin_id);
SQL
    }
    $page = home($bob, '?limit=40')->{json} if $pass > 1;
    my ($fav, $bm, $rb, $poll, $wrong, $seen) = (0, 0, 0, 0, 0, 0);
    for my $st (@$page) {
        my ($i) = $st->{content} =~ m{^<p>many (\d+)</p>$} or next;
        $seen++;
        $wrong++ if !!$st->{favourited} != !($i % 3);
        $wrong++ if !!$st->{bookmarked} != !($i % 5);
        $wrong++ if !!$st->{reblogged} != !($i % 7);
        $wrong++ if !!$st->{poll} != !($i % 2);
        $fav++ if $st->{favourited};
        $bm++ if $st->{bookmarked};
        $rb++ if $st->{reblogged};
        $poll++ if $st->{poll};
    }
    is($seen, 40, "alice's last forty ($pass)");
    is($wrong, 0, "each mark as bob made it, among erin's 150 ($pass)");
    is_deeply([ $fav, $bm, $rb, $poll ], [ 13, 8, 6, 20 ],
              "13 favourited, 8 bookmarked, 6 boosted, 20 polls ($pass)");
}

# ---- a cache too small for one status: the same answers ----

# (the page before the many: the posts of the sections above)
my $older = "?max_id=$ids[0]";
my $full = home($carol, $older)->{json};
$t->write_default_conf('fedi_status_cache_size 1k;');
$t->reload();
my $tiny = home($bob, $older)->{json};
is_deeply($tiny, home($bob, $older)->{json}, 'too small to hold: the same twice');
sub unmarked {
    my ($st) = @_;
    my %c = %$st;
    delete @c{qw(favourited bookmarked muted reblogged pinned poll)};
    return \%c;
}
is_deeply([ map { $_->{id} } @$tiny ], [ map { $_->{id} } @$full ],
          'the same statuses as the full statement');
is_deeply([ map { unmarked($_) } @$tiny ], [ map { unmarked($_) } @$full ],
          "rendered the same, but for bob's marks");
ok(find($tiny, $s1->{id})->{bookmarked}, 'and those are his');

$t->done_testing();
