#!/usr/bin/perl

# What the inbox does with activities, in the federation lab: signed by
# "mallory" of peer.test (the test holds its key, as in t/inbox.t), seen
# through the Mastodon API as local users see them.  Create (public,
# unlisted, followers-only, direct, replies, polls), mentions and tags,
# sanitized HTML, Like, Announce, Undo, Update (edits, the profile),
# Delete (a status, the actor), Block, Accept and Reject of our follows,
# Add and Remove; and the origin rules, one test each: an embedded object
# from another host is fetched from its origin (its id must be the URL,
# its type ActivityPub's), attributedTo must be the actor, nobody edits
# or deletes what is not theirs, hosts are normalized before comparing.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Crypt::OpenSSL::RSA;
use Test::More;
use Fedi::Test;
use Fedi::Lab;
use Fedi::Cavage;

my $lab = Fedi::Lab->new();
$lab->host('ours.test');
$lab->host('peer.test');
$lab->host('other.test');
$lab->start_dns();

my $key = $lab->mallory_key();

$lab->start_peer('peer.test', LAB_ACTOR_PEM => $lab->mallory_pem());
$lab->start_peer('other.test');

$ENV{FEDI_TEST_LOG_LEVEL} = 'info';

my $t = $lab->instance('ours.test');

my ($alice, $alice_id) = $t->sign_up('alice');
my ($bob, $bob_id) = $t->sign_up('bob');

my $MALLORY = 'https://peer.test/users/mallory';
my $PUBLIC = 'https://www.w3.org/ns/activitystreams#Public';
my $n = 0;

sub activity {
    my (%a) = @_;
    return Fedi::Test::json_encode({
        '@context' => 'https://www.w3.org/ns/activitystreams',
        id => "$MALLORY/activities/" . ++$n, actor => $MALLORY, %a });
}

# a draft-cavage POST as Mastodon signs it, then the activity's outcome
# once processed
sub deliver {
    my ($body) = @_;
    my $r = $t->post('/inbox', body => $body, headers => Fedi::Cavage::headers(
        key => $key, key_id => "$MALLORY#main-key", path => '/inbox',
        body => $body));
    is($r->{status}, 202, 'delivered: 202') or diag($r->{body});

    my $id = Fedi::Test::json_decode($body)->{id};
    (my $q = $id) =~ s/'/''/g;
    for (1 .. 200) {
        my ($out) = $t->psql("SELECT outcome FROM inbox_activities"
                             . " WHERE uri = '$q' AND processed_at IS NOT NULL");
        return $out if defined $out && $out ne '';
        # an object fetched in the background (sql/0039) that failed in a
        # way that may pass waits 2, 4 ... s to be tried again: made due
        # now (a lease, 300 s, is left alone)
        $t->psql("WITH d AS (UPDATE inbox_activities SET object_due = now()"
                 . " WHERE uri = '$q' AND object_pending"
                 . " AND object_due > now()"
                 . " AND object_due < now() + interval '60 seconds'"
                 . " RETURNING 1)"
                 . " SELECT pg_notify('fedi_inbox', 'fetch') FROM d");
        select(undef, undef, undef, 0.05);
    }
    return '(not processed)';
}

sub obj {
    my ($id, %o) = @_;
    return { id => "https://peer.test/notes/$id", type => 'Note',
             attributedTo => $MALLORY, to => [$PUBLIC],
             cc => ["$MALLORY/followers"],
             content => "<p>note $id</p>", %o };
}

sub create { deliver(activity(type => 'Create', object => obj(@_))) }

sub status_by_uri {
    my ($uri) = @_;
    my ($id) = $t->psql("SELECT id FROM statuses WHERE uri = '$uri'");
    return $id;
}

sub api { $t->get($_[0], token => $_[1] // $alice)->{json} }

# --- Create: a public note, mentioning alice, with a hashtag -------------

like(create('1', content => '<p>Hi <span class="h-card"><a href="https://ours.test/@alice" class="u-url mention">@<span>alice</span></a></span> '
            . '<a href="https://peer.test/tags/fedi" class="mention hashtag" rel="tag">#<span>fedi</span></a>'
            . '<script>alert(1)</script><img src=x onerror=alert(2)>'
            . '<a href="javascript:alert(3)">x</a></p>',
            contentMap => { en => '<p>en</p>' },
            summary => 'cw here', url => 'https://peer.test/@mallory/1',
            tag => [{ type => 'Mention', href => 'https://ours.test/users/alice',
                      name => '@alice@ours.test' },
                    { type => 'Hashtag', href => 'https://peer.test/tags/fedi',
                      name => '#fedi' }]),
     qr/^create \d+$/, 'Create of a Note: a status');

my $s1 = status_by_uri('https://peer.test/notes/1');
ok($s1, 'stored by its uri');

my $st = api("/api/v1/statuses/$s1");
is($st->{account}{acct}, 'mallory@peer.test', 'its account is user@domain');
is($st->{uri}, 'https://peer.test/notes/1', 'its uri is the remote one');
is($st->{url}, 'https://peer.test/@mallory/1', 'its url the remote one');
is($st->{visibility}, 'public', 'public (the full URI in to)');
is($st->{spoiler_text}, 'cw here', 'summary: the spoiler text');
ok($st->{sensitive}, 'a content warning makes it sensitive');
is($st->{language}, 'en', 'language from contentMap');
unlike($st->{content}, qr/<script|onerror|javascript:|<img/i,
       'its HTML is sanitized') or diag($st->{content});
like($st->{content}, qr{<a href="https://ours.test/\@alice" rel="nofollow noopener noreferrer" target="_blank" class="u-url mention">},
     'links keep http(s) hrefs and allowed classes, with rel');
is_deeply([map { $_->{acct} } @{ $st->{mentions} }], ['alice'],
          'the mention of alice');
is_deeply([map { $_->{name} } @{ $st->{tags} }], ['fedi'], 'the hashtag');

my $notes = api('/api/v1/notifications');
my ($mention) = grep { $_->{type} eq 'mention' } @$notes;
is($mention->{status}{id}, $s1, 'alice is notified of the mention');
is($mention->{account}{acct}, 'mallory@peer.test', 'by mallory');

ok((grep { $_->{id} eq $s1 } @{ api('/api/v1/timelines/public') }),
   'in the public timeline');
ok((grep { $_->{id} eq $s1 } @{ api('/api/v1/timelines/public?remote=true') }),
   'in the federated one');
ok(!(grep { $_->{id} eq $s1 } @{ api('/api/v1/timelines/public?local=true') }),
   'not in the local one');
ok((grep { $_->{id} eq $s1 } @{ api('/api/v1/timelines/tag/fedi') }),
   'in the hashtag timeline');

is(create('1'), 'create: known already', 'the same Create again (a new activity id)');
is($t->psql("SELECT count(*) FROM statuses WHERE uri = 'https://peer.test/notes/1'") + 0,
   1, 'one status all the same');

# --- visibility and the home timeline ------------------------------------

my ($mallory_id) = $t->psql("SELECT id FROM accounts WHERE uri = '$MALLORY'");
$t->psql("SELECT fedi_follow_local($alice_id, $mallory_id, NULL, NULL)");   # accepted already

create('2', to => ["$MALLORY/followers"], cc => []);
my $s2 = status_by_uri('https://peer.test/notes/2');
is(api("/api/v1/statuses/$s2")->{visibility}, 'private',
   'followers only: private');
ok((grep { $_->{id} eq $s2 } @{ api('/api/v1/timelines/home') }),
   "in alice's home timeline: she follows mallory");
is($t->get("/api/v1/statuses/$s2", token => $bob)->{status}, 404,
   'bob, who does not, cannot see it');

create('3', to => ["$MALLORY/followers"], cc => ['as:Public']);
my $s3 = status_by_uri('https://peer.test/notes/3');
is(api("/api/v1/statuses/$s3")->{visibility}, 'unlisted',
   'public in cc (as:Public): unlisted');
ok(!(grep { $_->{id} eq $s3 } @{ api('/api/v1/timelines/public') }),
   'not in the public timeline');

create('3b', to => ['Public'], cc => []);
is(api('/api/v1/statuses/' . status_by_uri('https://peer.test/notes/3b'))
   ->{visibility}, 'public', '"Public" alone means public too');

create('4', to => ['https://ours.test/users/bob'], cc => [],
       tag => [{ type => 'Mention', href => 'https://ours.test/users/bob' }]);
my $s4 = status_by_uri('https://peer.test/notes/4');
is(api("/api/v1/statuses/$s4", $bob)->{visibility}, 'direct',
   'only a mention: direct');
is($t->get("/api/v1/statuses/$s4", token => $alice)->{status}, 404,
   'alice cannot see it');
ok((grep { $_->{type} eq 'mention' && $_->{status}{id} eq $s4 }
    @{ api('/api/v1/notifications', $bob) }), 'bob is notified');
ok((grep { ($_->{last_status}{id} // '') eq $s4 }
    @{ api('/api/v1/conversations', $bob) }), 'in his conversations');

create('7', type => 'Article', name => 'A <title>', summary => 'about it',
       content => '<p>the whole article</p>', url => 'https://peer.test/a/7');
$st = api('/api/v1/statuses/' . status_by_uri('https://peer.test/notes/7'));
is($st->{content}, '<p>A &lt;title&gt;</p><p>about it</p><p><a href="https://peer.test/a/7"'
   . ' rel="nofollow noopener noreferrer" target="_blank">https://peer.test/a/7</a></p>',
   'an Article: its name, summary and a link, as Mastodon converts it');
is($st->{spoiler_text}, '', 'with no content warning');

create('4b', to => ['https://ours.test/users/alice'], cc => [], tag => []);
my $s4b = status_by_uri('https://peer.test/notes/4b');
is(api("/api/v1/statuses/$s4b")->{visibility}, 'direct',
   'addressed to alice alone, with no Mention: direct');
ok((grep { $_->{type} eq 'mention' && $_->{status}{id} eq $s4b }
    @{ api('/api/v1/notifications') }), 'alice sees it, as Mastodon, notified');
is($t->get("/api/v1/statuses/$s4b", token => $bob)->{status}, 404,
   'bob does not');

# --- a reply to alice, and a poll ----------------------------------------

my $own = $t->post('/api/v1/statuses', token => $alice,
                   form => { status => 'hello fediverse' })->{json}{id};
create('5', inReplyTo => "https://ours.test/users/alice/statuses/$own");
my $s5 = api('/api/v1/statuses/' . status_by_uri('https://peer.test/notes/5'));
is($s5->{in_reply_to_id}, $own, 'a reply joins the thread of our status');
is($s5->{in_reply_to_account_id}, $alice_id, 'to its author');
is(api("/api/v1/statuses/$own")->{replies_count}, 1, 'which counts it');
ok((grep { $_->{id} eq $s5->{id} }
    @{ api("/api/v1/statuses/$own/context")->{descendants} }),
   'and shows it in its context');

create('6', type => 'Question', content => '<p>which?</p>',
       endTime => '2099-01-01T00:00:00Z', votersCount => 8,
       oneOf => [{ type => 'Note', name => 'this', replies => { type => 'Collection', totalItems => 3 } },
                 { type => 'Note', name => 'that', replies => { type => 'Collection', totalItems => 5 } }]);
my $poll = api('/api/v1/statuses/' . status_by_uri('https://peer.test/notes/6'))->{poll};
is_deeply([map { [$_->{title}, $_->{votes_count}] } @{ $poll->{options} }],
          [['this', 3], ['that', 5]], 'a Question: a poll with its counts');
is($poll->{voters_count}, 8, 'and its voters');
ok(!$poll->{multiple}, 'oneOf: a single choice');
like($poll->{expires_at}, qr/^2099-01-01T00:00:00/, 'endTime: when it ends');

# --- Like, Announce and their Undo ---------------------------------------

my $own_uri = "https://ours.test/users/alice/statuses/$own";
my $like = activity(type => 'Like', object => $own_uri);
is(deliver($like), 'like', 'Like of our status');
is(api("/api/v1/statuses/$own")->{favourites_count}, 1, 'a favourite');
ok((grep { $_->{type} eq 'favourite' && $_->{account}{acct} eq 'mallory@peer.test' }
    @{ api('/api/v1/notifications') }), 'alice is notified');
is(deliver(activity(type => 'Undo', object => Fedi::Test::json_decode($like)->{id})),
   'undo like', 'Undo of the Like by its id');
is(api("/api/v1/statuses/$own")->{favourites_count}, 0, 'no favourite');

$t->psql("SELECT fedi_follow_local($bob_id, $mallory_id, NULL, NULL)");   # accepted already
my $boost = activity(type => 'Announce', object => $own_uri, to => [$PUBLIC]);
like(deliver($boost), qr/^announce \d+$/, 'Announce of our status');
is(api("/api/v1/statuses/$own")->{reblogs_count}, 1, 'a boost');
ok((grep { $_->{type} eq 'reblog' && $_->{account}{acct} eq 'mallory@peer.test' }
    @{ api('/api/v1/notifications') }), 'alice is notified');
my $wrapper = (grep { $_->{reblog} && $_->{reblog}{id} eq $own }
               @{ api('/api/v1/timelines/home', $bob) })[0];
ok($wrapper, "the boost is in bob's home timeline (he follows mallory)");
is(deliver(activity(type => 'Undo', object => Fedi::Test::json_decode($boost))),
   'undo announce', 'Undo of the Announce by value');
is(api("/api/v1/statuses/$own")->{reblogs_count}, 0, 'no boost');

# --- Update: an edit, kept in the history; a profile ---------------------

is(deliver(activity(type => 'Update', object => obj('1', content => '<p>edited <b>now</b></p>',
                                                      updated => '2030-01-01T00:00:00Z'))),
   'update status', 'Update of the Note');
$st = api("/api/v1/statuses/$s1");
is($st->{content}, '<p>edited <b>now</b></p>', 'its content is the new one');
ok($st->{edited_at}, 'edited');
is(scalar @{ api("/api/v1/statuses/$s1/history") }, 2,
   'the history holds both versions');

is(deliver(activity(type => 'Update', object => {
        id => $MALLORY, type => 'Person', preferredUsername => 'mallory',
        name => 'Mallory M', inbox => "$MALLORY/inbox",
        featured => "$MALLORY/featured", followers => "$MALLORY/followers",
        publicKey => { id => "$MALLORY#main-key", owner => $MALLORY,
                       publicKeyPem => $key->get_public_key_x509_string() } })),
   'update actor', 'Update of the actor');
is(api("/api/v1/accounts/$mallory_id")->{display_name}, 'Mallory M',
   'the profile is the new one');

# --- attachments: Documents become media_attachments, shown remote ------

my @docs = map { { type => 'Document', mediaType => 'image/jpeg',
                   url => "https://peer.test/media/$_.jpg", name => "picture $_",
                   blurhash => 'UBL_:rOpGG-oBUNG,qRj2so|=eE1w^n4S5NH',
                   width => 800, height => 600, focalPoint => [0.5, -2] } } 1 .. 5;
push @docs, { type => 'Document', mediaType => 'image/png',
              url => 'javascript:alert(1)' };
like(create('m1', attachment => [@docs[0, 1]], content => '<p>pictures</p>'),
     qr/^create \d+$/, 'a Create with two attachments');
my $sm = status_by_uri('https://peer.test/notes/m1');
$st = api("/api/v1/statuses/$sm");
is(scalar @{ $st->{media_attachments} }, 2, 'two media attachments');
my $att = $st->{media_attachments}[0];
is($att->{type}, 'image', 'an image');
is($att->{remote_url}, 'https://peer.test/media/1.jpg', 'its remote URL');
is($att->{description}, 'picture 1', 'its name is the description');
is($att->{blurhash}, 'UBL_:rOpGG-oBUNG,qRj2so|=eE1w^n4S5NH', 'its blurhash');
is($att->{meta}{original}{width}, 800, 'its width');
is($att->{meta}{focus}{y}, -1, 'the focal point, held within -1..1');
ok((grep { $_->{id} eq $sm } @{ api('/api/v1/timelines/public?only_media=true') }),
   'in the public timeline with only_media');

like(create('m2', attachment => [@docs]), qr/^create \d+$/,
     'a Create with six attachments, one not https');
is_deeply([map { $_->{remote_url} } @{ api('/api/v1/statuses/'
              . status_by_uri('https://peer.test/notes/m2'))->{media_attachments} }],
          [map { "https://peer.test/media/$_.jpg" } 1 .. 4],
          'four kept, in order, as Mastodon');

is(deliver(activity(type => 'Update', object => obj('m1', content => '<p>pictures</p>',
                    attachment => [$docs[1], { %{ $docs[2] }, name => 'new' }]))),
   'update: unchanged', 'an Update changing only the attachments');
is_deeply([map { $_->{description} } @{ api("/api/v1/statuses/$sm")->{media_attachments} }],
          ['picture 2', 'new'], 'the attachments follow the Note');

my $FEDICTL = "$Fedi::Test::TOP/build/fedictl";
my $out = `$FEDICTL --db '@{[ $t->conninfo() ]}' domains block peer.test --severity noop --reject-media 2>&1`;
is($?, 0, 'fedictl domains block peer.test --reject-media') or diag($out);
like(create('m3', attachment => [$docs[0]]), qr/^create \d+$/,
     'then a Create with an attachment');
is(scalar @{ api('/api/v1/statuses/' . status_by_uri('https://peer.test/notes/m3'))->{media_attachments} },
   0, 'the status comes, its media does not');
`$FEDICTL --db '@{[ $t->conninfo() ]}' domains unblock peer.test 2>&1`;

# --- Add / Remove: featured ----------------------------------------------

is(deliver(activity(type => 'Add', object => 'https://peer.test/notes/3b',
                    target => "$MALLORY/featured")), 'add',
   'Add to the featured collection');
is_deeply([map { $_->{uri} } @{ api("/api/v1/accounts/$mallory_id/statuses?pinned=true") }],
          ['https://peer.test/notes/3b'], 'a pinned status');
is(deliver(activity(type => 'Remove', object => 'https://peer.test/notes/3b',
                    target => "$MALLORY/featured")), 'remove', 'Remove');
is_deeply(api("/api/v1/accounts/$mallory_id/statuses?pinned=true"), [],
          'pinned no more');

# --- Delete --------------------------------------------------------------

is(deliver(activity(type => 'Delete', object => { id => 'https://peer.test/notes/2',
                                                  type => 'Tombstone' })),
   'delete status', 'Delete of a Note');
is($t->get("/api/v1/statuses/$s2", token => $alice)->{status}, 404, 'gone');
ok(!(grep { $_->{id} eq $s2 } @{ api('/api/v1/timelines/home') }),
   'from the home timeline too');

# --- Accept and Reject of our follows ------------------------------------

$t->psql("DELETE FROM follows WHERE account_id = $bob_id");
$t->psql("INSERT INTO follow_requests (account_id, target_account_id, uri)"
         . " VALUES ($bob_id, $mallory_id, 'https://ours.test/follows/bob-1')");
is(deliver(activity(type => 'Accept', object => 'https://ours.test/follows/bob-1')),
   'accept', 'Accept of our Follow, by its id');
my $rel = api("/api/v1/accounts/relationships?id[]=$mallory_id", $bob)->[0];
ok($rel->{following} && !$rel->{requested}, 'bob follows mallory now');

is(($t->psql("SELECT uri FROM follows WHERE account_id = $bob_id"
              . " AND target_account_id = $mallory_id"))[0],
   'https://ours.test/follows/bob-1', 'the follow keeps the id of our Follow');

my ($dave, $dave_id) = $t->sign_up('dave');
$t->psql("INSERT INTO follow_requests (account_id, target_account_id, uri)"
         . " VALUES ($dave_id, $mallory_id, 'https://ours.test/follows/dave-1')");
is(deliver(activity(type => 'Accept', object => 'https://ours.test/follows/dave-1')),
   'accept', 'Accept of dave\'s Follow');
is(deliver(activity(type => 'Reject', object => 'https://ours.test/follows/dave-1')),
   'reject: follow ended', 'then a Reject of it');
ok(!api("/api/v1/accounts/relationships?id[]=$mallory_id", $dave)->[0]{following},
   'ends the follow');

my ($carol, $carol_id) = $t->sign_up('carol');
$t->psql("INSERT INTO follow_requests (account_id, target_account_id, uri)"
         . " VALUES ($carol_id, $mallory_id, 'https://ours.test/follows/carol-1')");
is(deliver(activity(type => 'Reject', object => {
        type => 'Follow', actor => 'https://ours.test/users/carol',
        object => $MALLORY })), 'reject', 'Reject of a Follow given by value');
$rel = api("/api/v1/accounts/relationships?id[]=$mallory_id", $carol)->[0];
ok(!$rel->{following} && !$rel->{requested}, 'no follow, no request');

# --- Block ---------------------------------------------------------------

my $block = activity(type => 'Block', object => 'https://ours.test/users/alice');
is(deliver($block), 'block', 'Block of alice');
$rel = api("/api/v1/accounts/relationships?id[]=$mallory_id")->[0];
ok(!$rel->{following}, 'alice follows mallory no more');
is(deliver(activity(type => 'Undo', object => Fedi::Test::json_decode($block)->{id})),
   'undo block', 'Undo of the Block');
is($t->psql("SELECT count(*) FROM blocks WHERE account_id = $mallory_id") + 0, 0,
   'no block');

# --- origin rules --------------------------------------------------------

# an object by reference: fetched from its origin
$lab->https('peer.test', 'POST', '/_lab/serve?path=/notes/r1',
            Fedi::Test::json_encode(obj('r1', content => '<p>by reference</p>')));
like(deliver(activity(type => 'Create', object => 'https://peer.test/notes/r1')),
     qr/^create \d+$/, 'Create of an object by reference');
is(api('/api/v1/statuses/' . status_by_uri('https://peer.test/notes/r1'))->{content},
   '<p>by reference</p>', 'fetched from its origin');

# an embedded object from another host: what its origin serves counts
$lab->https('other.test', 'POST', '/_lab/serve?path=/notes/o1',
            Fedi::Test::json_encode(obj('x', id => 'https://other.test/notes/o1',
                                         content => '<p>the origin says</p>')));
create('x', id => 'https://other.test/notes/o1', content => '<p>forged</p>');
is(($t->psql("SELECT object->>'content' FROM inbox_activities"
              . " WHERE uri = '$MALLORY/activities/$n'"))[0],
   '<p>the origin says</p>',
   'an object of another host is fetched from there, not taken as embedded');
is($t->psql("SELECT count(*) FROM statuses WHERE content LIKE '%forged%'") + 0, 0,
   'what was embedded is stored nowhere');
ok(!status_by_uri('https://other.test/notes/o1'),
   'nor a status of peer.test\'s mallory on other.test');

$lab->https('other.test', 'POST', '/_lab/serve?path=/notes/o2',
            Fedi::Test::json_encode(obj('x', id => 'https://other.test/notes/elsewhere')));
like(create('x', id => 'https://other.test/notes/o2'), qr/no trusted object/,
     'fetched from its origin, an id that is not the URL: dropped');

$lab->https('other.test', 'POST', '/_lab/serve?path=/notes/o3&type=text/html',
            Fedi::Test::json_encode(obj('x', id => 'https://other.test/notes/o3')));
like(create('x', id => 'https://other.test/notes/o3'), qr/no trusted object/,
     'fetched from its origin, not of ActivityPub\'s type: dropped');

like(create('x', id => 'https://nowhere.test/notes/1'), qr/no trusted object/,
     'an origin that cannot be reached: dropped');
like(($t->psql("SELECT object_error FROM inbox_activities"
               . " WHERE body -> 'object' ->> 'id' = 'https://nowhere.test/notes/1'"))[0],
     qr/cannot be fetched from its origin: cannot resolve \(given up after 6 attempts\)/,
     '... after trying again, as a network failure may pass');

like(create('a1', attributedTo => 'https://peer.test/users/bob'),
     qr/no trusted object/, 'attributedTo another actor: dropped');
ok(!status_by_uri('https://peer.test/notes/a1'), 'no status');

like(create('n1', id => 'https://PEER.test./notes/n1'), qr/^create \d+$/,
     'a host in capitals with a trailing dot is the actor\'s host');
like(create('n2', id => 'https://peer.test@other.test/notes/n2'),
     qr/no trusted object/, 'a host behind userinfo is not');

# somebody else's status on the same host
$t->psql("INSERT INTO accounts (username, domain, uri, url, inbox_url)"
         . " VALUES ('carol', 'peer.test', 'https://peer.test/users/carol',"
         . " 'https://peer.test/\@carol', 'https://peer.test/users/carol/inbox')");
$t->psql("INSERT INTO statuses (account_id, uri, content) SELECT id,"
         . " 'https://peer.test/notes/c1', '<p>carol''s</p>' FROM accounts"
         . " WHERE uri = 'https://peer.test/users/carol'");
my $c1 = status_by_uri('https://peer.test/notes/c1');

is(deliver(activity(type => 'Update', object => obj('c1', content => '<p>mine now</p>'))),
   'update: not the owner', "an Update of carol's status by mallory: refused");
like(deliver(activity(type => 'Update', object => obj('c1', attributedTo => 'https://peer.test/users/carol',
                                                        content => '<p>mine now</p>'))),
     qr/no trusted object/, 'even when attributed to carol');
is(api("/api/v1/statuses/$c1")->{content}, "<p>carol's</p>", 'unchanged');
is(deliver(activity(type => 'Delete', object => 'https://peer.test/notes/c1')),
   'delete: not the owner', "a Delete of carol's status by mallory: refused");
is($t->get("/api/v1/statuses/$c1", token => $alice)->{status}, 200, 'still there');
is(deliver(activity(type => 'Update', object => {
        id => 'https://peer.test/users/carol', type => 'Person',
        preferredUsername => 'carol', name => 'pwned',
        inbox => 'https://peer.test/users/carol/inbox' })),
   'update: no trusted object', "an Update of carol's profile: refused");

is(deliver(activity(type => 'Create', object => obj('g1'),
                    '@graph' => [obj('g2')])),
   'refused: JSON-LD graph', 'JSON-LD @graph: refused');

# an Announce of a status we do not hold: fetched from its origin, its
# author (bob of other.test, a Fedify actor) resolved
$lab->https('other.test', 'POST', '/_lab/serve?path=/notes/b1',
            Fedi::Test::json_encode({ id => 'https://other.test/notes/b1',
                type => 'Note', attributedTo => 'https://other.test/users/bob',
                to => [$PUBLIC], content => '<p>from other<script>x</script></p>' }));
like(deliver(activity(type => 'Announce', object => 'https://other.test/notes/b1',
                      to => [$PUBLIC])), qr/^announce \d+$/,
     'Announce of a status we did not hold');
my $b1 = api('/api/v1/statuses/' . status_by_uri('https://other.test/notes/b1'));
is($b1->{account}{acct}, 'bob@other.test', 'fetched, its author resolved');
is($b1->{content}, '<p>from other</p>', 'sanitized');
is($b1->{reblogs_count}, 1, 'and boosted');

# --- Move: to an account that names mallory in alsoKnownAs --------------

sub actor_doc {
    my ($name, %o) = @_;
    my $id = "https://peer.test/users/$name";
    return Fedi::Test::json_encode({
        '@context' => 'https://www.w3.org/ns/activitystreams', id => $id,
        type => 'Person', preferredUsername => $name, inbox => "$id/inbox",
        publicKey => { id => "$id#main-key", owner => $id,
                       publicKeyPem => $key->get_public_key_x509_string() },
        %o });
}

$t->psql("SELECT fedi_follow_local($alice_id, $mallory_id, NULL, NULL)");   # accepted already
$lab->https('peer.test', 'POST', '/_lab/serve?path=/users/stranger', actor_doc('stranger'));
like(deliver(activity(type => 'Move', object => $MALLORY,
                      target => 'https://peer.test/users/stranger')),
     qr/alsoKnownAs/, 'Move to an account that does not name mallory: refused');
ok(api("/api/v1/accounts/relationships?id[]=$mallory_id")->[0]{following},
   'alice still follows mallory');

$lab->https('peer.test', 'POST', '/_lab/serve?path=/users/mallory2',
            actor_doc('mallory2', alsoKnownAs => [$MALLORY]));
is(deliver(activity(type => 'Move', object => $MALLORY,
                    target => 'https://peer.test/users/mallory2')),
   'move 2', 'Move to mallory2, who names mallory: its two local followers');
my ($m2) = $t->psql("SELECT id FROM accounts WHERE uri = 'https://peer.test/users/mallory2'");
is(($t->psql("SELECT moved_to_account_id FROM accounts WHERE id = $mallory_id"))[0],
   $m2, 'the old account says where it went');
$rel = api("/api/v1/accounts/relationships?id[]=$mallory_id&id[]=$m2");
ok(!$rel->[0]{following}, 'alice follows the old one no more');
ok($rel->[1]{requested}, 'and asks to follow the new one');
is($t->psql("SELECT count(*) FROM follow_requests WHERE target_account_id = $m2"
            . " AND uri LIKE 'https://ours.test/users/%#follows/%'") + 0,
   2, 'each a request with the id of the Follow sent for it');

# an Announce of an object whose author is on another host: not taken
$lab->https('other.test', 'POST', '/_lab/serve?path=/notes/b2',
            Fedi::Test::json_encode({ id => 'https://other.test/notes/b2',
                type => 'Note', attributedTo => $MALLORY,
                to => [$PUBLIC], content => '<p>not theirs</p>' }));
is(deliver(activity(type => 'Announce', object => 'https://other.test/notes/b2',
                    to => [$PUBLIC])), 'announce: no such status',
   'Announce of an object whose author is on another host: dropped');
ok(!status_by_uri('https://other.test/notes/b2'), 'nothing stored');

# a Like of a status the actor may not see
my $secret = $t->post('/api/v1/statuses', token => $alice,
                      form => { status => 'for my followers', visibility => 'private' })->{json}{id};
is(deliver(activity(type => 'Like', object => "https://ours.test/users/alice/statuses/$secret")),
   'like: not visible to the actor', 'Like of a private status by a non-follower: refused');
is(api("/api/v1/statuses/$secret")->{favourites_count}, 0, 'no favourite');

# --- Delete of the actor: its content goes -------------------------------

is(deliver(activity(type => 'Delete', object => $MALLORY)), 'delete actor',
   'Delete of the actor');
is($t->get("/api/v1/statuses/$s1", token => $alice)->{status}, 404,
   'its statuses are gone');
is(api("/api/v1/statuses/$own")->{replies_count}, 0,
   'its reply to alice no longer counts');
is_deeply(api("/api/v1/accounts/$mallory_id/followers"), [],
          'its follows too');

done_testing();
