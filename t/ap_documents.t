#!/usr/bin/perl

# The identity documents other servers read: WebFinger, the actor of a
# local account, statuses as Notes, the outbox, followers and following,
# content negotiation between ActivityPub JSON and HTML on one URL.  Every
# document is read as a remote server would: ids absolute and resolvable
# on the instance's https domain, addressing by visibility, hidden
# collections, nothing private served.

use strict;
use warnings;
use utf8;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use Fedi::Test;

my $DOMAIN = 'social.example';
my $BASE = "https://$DOMAIN";
my $PUBLIC = 'https://www.w3.org/ns/activitystreams#Public';
my $AP = 'application/activity+json';

my $t = Fedi::Test->new(domain => $DOMAIN, https => 'on');
$t->write_default_conf();
$t->run();

sub ap_get {
    my ($path, $accept) = @_;
    return $t->get($path, headers => { Accept => $accept // $AP });
}

sub post {
    my ($tok, %f) = @_;
    my $r = $t->post('/api/v1/statuses', token => $tok, json => \%f);
    die "post: $r->{body}" unless $r->{status} == 200;
    return $r->{json};
}

my ($alice, $alice_id) = $t->sign_up('alice');
my ($bob, $bob_id) = $t->sign_up('bob');
my ($carol, $carol_id) = $t->sign_up('carol');

my $hostile = q{<script>&"'</script>};
my $r = $t->patch('/api/v1/accounts/update_credentials', token => $alice,
                  form => { display_name => $hostile,
                            note => 'Hi <b>there</b>',
                            'fields_attributes[0][name]' => 'Pronouns',
                            'fields_attributes[0][value]' => 'she/her' });
is($r->{status}, 200, 'alice sets up her profile');

# ---- WebFinger ----

$r = $t->get("/.well-known/webfinger?resource=acct:alice\@$DOMAIN");
is($r->{status}, 200, 'webfinger acct:');
like($r->{headers}{'content-type'}, qr{^application/jrd\+json}, 'JRD type');
is($r->{headers}{'access-control-allow-origin'}, '*', 'webfinger: CORS');
like($r->{headers}{'cache-control'} // '', qr/public/, 'webfinger: cacheable');
my $wf = $r->{json};
is($wf->{subject}, "acct:alice\@$DOMAIN", 'subject');
my %links = map { $_->{rel} => $_ } @{ $wf->{links} };
is($links{self}{href}, "$BASE/users/alice", 'self link: the actor');
is($links{self}{type}, $AP, 'self link type');
is($links{'http://webfinger.net/rel/profile-page'}{href}, "$BASE/\@alice",
   'profile page');
is($links{'http://ostatus.org/schema/1.0/subscribe'}{template},
   "$BASE/authorize_interaction?uri={uri}", 'subscribe template');
ok((grep { $_ eq "$BASE/users/alice" } @{ $wf->{aliases} }), 'aliases');

for my $res ("$BASE/users/alice", "$BASE/\@alice", "alice\@$DOMAIN",
             "acct:ALICE\@SOCIAL.EXAMPLE")
{
    $r = $t->get("/.well-known/webfinger?resource=$res");
    is($r->{status}, 200, "webfinger $res");
    is($r->{json}{subject}, "acct:alice\@$DOMAIN", "$res: canonical subject");
}

for my $res ("acct:nobody\@$DOMAIN", 'acct:alice@other.example',
             "https://other.example/users/alice", "$BASE/tags/alice",
             "acct:al%27ice\@$DOMAIN", 'acct:alice')
{
    is($t->get("/.well-known/webfinger?resource=$res")->{status}, 404,
       "webfinger $res: 404");
}

$r = $t->get('/.well-known/webfinger');
is($r->{status}, 400, 'webfinger without resource: 400');
is($r->{headers}{'access-control-allow-origin'}, '*', '400 with CORS too');

# ---- the actor ----

$r = ap_get('/users/alice');
is($r->{status}, 200, 'actor');
is($r->{headers}{'content-type'}, 'application/activity+json; charset=utf-8',
   'actor type');
like($r->{headers}{vary} // '', qr/Accept/, 'Vary: Accept');
like($r->{headers}{'cache-control'} // '', qr/max-age=\d+, public/,
     'a CDN may hold it');
is($r->{headers}{'access-control-allow-origin'}, '*', 'actor: CORS');
my $actor = $r->{json};
is_deeply([ @{ $actor->{'@context'} }[0, 1] ],
          ['https://www.w3.org/ns/activitystreams',
           'https://w3id.org/security/v1'], '@context');
is($actor->{'@context'}[2]{PropertyValue}, 'schema:PropertyValue',
   '@context defines PropertyValue');
is($actor->{id}, "$BASE/users/alice", 'id: the https URL of the actor');
is($actor->{type}, 'Person', 'a Person');
is($actor->{preferredUsername}, 'alice', 'preferredUsername');
is($actor->{name}, $hostile, 'name');
like($actor->{summary}, qr{^<p>Hi &lt;b&gt;there&lt;/b&gt;</p>$}, 'summary');
is($actor->{url}, "$BASE/\@alice", 'url');
for my $k (qw(inbox outbox followers following)) {
    is($actor->{$k}, "$BASE/users/alice/$k", $k);
}
is($actor->{featured}, "$BASE/users/alice/collections/featured", 'featured');
is($actor->{featuredTags}, "$BASE/users/alice/collections/tags",
   'featuredTags');
is($actor->{endpoints}{sharedInbox}, "$BASE/inbox", 'sharedInbox');
is($actor->{publicKey}{id}, "$BASE/users/alice#main-key", 'key id');
is($actor->{publicKey}{owner}, $actor->{id}, 'key owner');
like($actor->{publicKey}{publicKeyPem}, qr/^-----BEGIN PUBLIC KEY-----\n/,
     'a PEM key');
SKIP: {
    skip 'no Crypt::OpenSSL::RSA', 1
        unless eval { require Crypt::OpenSSL::RSA; 1 };
    my $key = eval { Crypt::OpenSSL::RSA->new_public_key(
        $actor->{publicKey}{publicKeyPem}) };
    ok($key && $key->size >= 256, 'the key parses: RSA, 2048 bits or more');
}
is_deeply($actor->{attachment},
          [{ type => 'PropertyValue', name => 'Pronouns', value => 'she/her' }],
          'profile fields as PropertyValue');
ok(JSON::PP::is_bool($actor->{manuallyApprovesFollowers})
   && !$actor->{manuallyApprovesFollowers}, 'manuallyApprovesFollowers');
ok(JSON::PP::is_bool($actor->{discoverable}), 'discoverable is a boolean');
ok(JSON::PP::is_bool($actor->{indexable}), 'indexable is a boolean');
like($actor->{published}, qr/^\d{4}-\d\d-\d\dT00:00:00Z$/, 'published');
ok(!exists $actor->{icon} && !exists $actor->{image},
   'no icon nor image without an avatar or header');
ok(!exists $actor->{movedTo} && !exists $actor->{alsoKnownAs},
   'not moved');

$r = ap_get('/users/alice',
    'application/ld+json; profile="https://www.w3.org/ns/activitystreams"');
is($r->{json}{id}, "$BASE/users/alice", 'ld+json with the profile: JSON');
is(ap_get('/users/alice', 'application/json')->{json}{id}, "$BASE/users/alice",
   'application/json: JSON, as Mastodon');
like(ap_get('/users/alice', 'text/html,application/xhtml+xml,*/*;q=0.8')
     ->{headers}{'content-type'}, qr{^text/html}, "a browser's Accept: HTML");
is(ap_get('/@alice')->{json}{id}, "$BASE/users/alice",
   '/@alice gives the actor to ActivityPub');
is(ap_get('/users/ALICE')->{json}{id}, "$BASE/users/alice",
   'usernames are case-insensitive, ids canonical');

# flags, avatar, moves

$t->patch('/api/v1/accounts/update_credentials', token => $bob,
          form => { bot => 'true', locked => 'true' });
$actor = ap_get('/users/bob')->{json};
is($actor->{type}, 'Service', 'a bot is a Service');
ok($actor->{manuallyApprovesFollowers}, 'a locked account approves');

$t->psql("UPDATE accounts SET avatar_file = 'accounts/avatars/1/a.png',"
         . " header_file = 'accounts/headers/1/h.jpg',"
         . " also_known_as = '{https://old.example/users/carol}',"
         . " moved_to_account_id = $alice_id WHERE id = $carol_id");
$actor = ap_get('/users/carol')->{json};
is_deeply($actor->{icon}, { type => 'Image', mediaType => 'image/png',
                            url => "$BASE/system/accounts/avatars/1/a.png" },
          'icon');
is($actor->{image}{mediaType}, 'image/jpeg', 'image');
is_deeply($actor->{alsoKnownAs}, ['https://old.example/users/carol'],
          'alsoKnownAs');
is($actor->{movedTo}, "$BASE/users/alice", 'movedTo');
$t->psql("UPDATE accounts SET moved_to_account_id = NULL,"
         . " also_known_as = '{}' WHERE id = $carol_id");

is(ap_get('/users/nobody')->{status}, 404, 'unknown actor: 404');
is(ap_get('/users/al.ice')->{status}, 404, 'malformed name: 404');
is($t->get('/users/nobody')->{status}, 404, 'nor an HTML page');
$t->psql("UPDATE accounts SET suspended_at = now() WHERE id = $carol_id");
is(ap_get('/users/carol')->{status}, 404, 'a suspended account: 404');
is($t->get("/.well-known/webfinger?resource=acct:carol\@$DOMAIN")->{status},
   404, 'nor found by webfinger');
$t->psql("UPDATE accounts SET suspended_at = NULL WHERE id = $carol_id");

# the HTML profile

$r = $t->get('/users/alice', headers => { Accept => 'text/html' });
is($r->{status}, 200, 'profile page');
like($r->{headers}{'content-type'}, qr{^text/html}, 'HTML');
like($r->{headers}{vary} // '', qr/Accept/, 'HTML also varies by Accept');
unlike($r->{body}, qr/<script>/, 'a hostile name is escaped');
like($r->{body},
     qr{<meta property="og:title" content="&lt;script&gt;&amp;&quot;&#39;&lt;/script&gt; \(\@alice\@social\.example\)">},
     'og:title, escaped');
like($r->{body}, qr{<meta property="og:url" content="\Q$BASE\E/\@alice">},
     'og:url');
like($r->{body}, qr{<link rel="alternate" type="application/activity\+json" href="\Q$BASE\E/users/alice">},
     'the page links the actor');
is($t->get('/@alice')->{body}, $r->{body}, '/@alice: the same page');

# ---- statuses as Notes ----

$t->patch('/api/v1/accounts/update_credentials', token => $bob,
          form => { locked => 'false' });
$t->post("/api/v1/accounts/$alice_id/follow", token => $bob);
$t->post("/api/v1/accounts/$alice_id/follow", token => $carol);

my $pub = post($alice, status => 'Hello @bob #Fedi', language => 'en');
my $unl = post($alice, status => 'quiet @carol', visibility => 'unlisted');
my $prv = post($alice, status => 'followers only', visibility => 'private');
my $dm = post($alice, status => '@bob secret', visibility => 'direct');
my $cw = post($alice, status => 'spoiled', spoiler_text => 'CW <b>',
              sensitive => JSON::PP::true);
my $reply = post($bob, status => '@alice hi back', in_reply_to_id => $pub->{id});
my $self = post($alice, status => 'and more', in_reply_to_id => $pub->{id});
my $poll = post($alice, status => 'pick', poll => { options => ['cats', 'dogs'],
                                                   expires_in => 3600 });

my $followers = "$BASE/users/alice/followers";
my $uri = "$BASE/users/alice/statuses/$pub->{id}";

$r = ap_get("/users/alice/statuses/$pub->{id}");
is($r->{status}, 200, 'a public Note');
is($r->{headers}{'content-type'}, 'application/activity+json; charset=utf-8',
   'Note type');
like($r->{headers}{'cache-control'} // '', qr/public/, 'Note: cacheable');
my $n = $r->{json};
is($n->{'@context'}[0], 'https://www.w3.org/ns/activitystreams', '@context');
is($n->{'@context'}[1]{Hashtag}, 'as:Hashtag', '@context defines Hashtag');
is($n->{id}, $uri, 'id: the status URI');
is($n->{id}, $pub->{uri}, 'as the client API gives it');
is($n->{type}, 'Note', 'a Note');
is($n->{attributedTo}, "$BASE/users/alice", 'attributedTo the actor');
is($n->{url}, "$BASE/\@alice/$pub->{id}", 'url');
is_deeply($n->{to}, [$PUBLIC], 'public: to Public');
is_deeply($n->{cc}, [$followers, "$BASE/users/bob"],
          'cc the followers and the mentioned');
is($n->{content}, $pub->{content}, 'content: the HTML');
is_deeply($n->{contentMap}, { en => $pub->{content} }, 'contentMap by language');
ok(JSON::PP::is_bool($n->{sensitive}) && !$n->{sensitive}, 'not sensitive');
ok(exists $n->{summary} && !defined $n->{summary}, 'no summary');
ok(exists $n->{inReplyTo} && !defined $n->{inReplyTo}, 'not a reply');
like($n->{published}, qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/, 'published');
ok(!exists $n->{updated}, 'never edited');
is_deeply([ sort { $a->{type} cmp $b->{type} } @{ $n->{tag} } ],
          [ { type => 'Hashtag', href => "$BASE/tags/fedi", name => '#fedi' },
            { type => 'Mention', href => "$BASE/users/bob", name => '@bob' } ],
          'tags: the Mention and the Hashtag');
is($n->{replies}{id}, "$uri/replies", 'a replies collection');
is($n->{replies}{first}{partOf}, "$uri/replies", 'with a first page');

$n = ap_get("/users/alice/statuses/$unl->{id}")->{json};
is_deeply($n->{to}, [$followers], 'unlisted: to the followers');
is_deeply($n->{cc}, [$PUBLIC, "$BASE/users/carol"],
          'cc Public and the mentioned');
ok(!exists $n->{contentMap}, 'no contentMap without a language');

my $odd = post($alice, status => 'odd');
$t->psql(qq{UPDATE statuses SET language = 'en","x":"y' WHERE id = $odd->{id}});
$r = ap_get("/users/alice/statuses/$odd->{id}");
ok($r->{json} && !exists $r->{json}{x} && !exists $r->{json}{contentMap},
   'a language that is no language tag: valid JSON, no contentMap');
$t->psql("UPDATE statuses SET deleted_at = now() WHERE id = $odd->{id}");

$n = ap_get("/users/alice/statuses/$cw->{id}")->{json};
is($n->{summary}, 'CW <b>', 'summary: the content warning');
ok($n->{sensitive}, 'sensitive');

$n = ap_get("/users/bob/statuses/$reply->{id}")->{json};
is($n->{inReplyTo}, $uri, 'inReplyTo the replied-to URI');

# replies: the author's own on the first page, others' after
my $self_uri = "$BASE/users/alice/statuses/$self->{id}";
$n = ap_get("/users/alice/statuses/$pub->{id}")->{json};
is_deeply($n->{replies}{first}{items}, [$self_uri],
          'the embedded first page: the self-reply');
$r = ap_get("/users/alice/statuses/$pub->{id}/replies");
is($r->{status}, 200, 'the replies collection resolves');
is($r->{json}{id}, "$uri/replies", 'as its id says');
is_deeply($r->{json}{first}{items}, [$self_uri], 'first page');
$r = ap_get("/users/alice/statuses/$pub->{id}/replies?page=true")->{json};
is($r->{id}, "$uri/replies?page=true", 'the first page alone');
is_deeply($r->{items}, [$self_uri], 'its items');
my $others = $r->{next} =~ s{^\Q$BASE\E}{}r;
$r = ap_get($others)->{json};
is($r->{type}, 'CollectionPage', 'the next page');
is($r->{partOf}, "$uri/replies", 'partOf');
is_deeply($r->{items}, ["$BASE/users/bob/statuses/$reply->{id}"],
          "others' replies");
is(ap_get("/users/alice/statuses/$prv->{id}/replies")->{status}, 404,
   'no replies of a private status');

$t->put("/api/v1/statuses/$pub->{id}", token => $alice,
        json => { status => 'Hello again @bob #Fedi', language => 'en' });
$n = ap_get("/users/alice/statuses/$pub->{id}")->{json};
like($n->{updated} // '', qr/^\d{4}-.*Z$/, 'an edit: updated');
like($n->{content}, qr/again/, 'the new content');

$n = ap_get("/users/alice/statuses/$poll->{id}")->{json};
is($n->{type}, 'Question', 'a poll is a Question');
is_deeply([ map { [$_->{type}, $_->{name}, $_->{replies}{totalItems}] }
            @{ $n->{oneOf} } ],
          [['Note', 'cats', 0], ['Note', 'dogs', 0]], 'oneOf its options');
like($n->{endTime} // '', qr/^\d{4}-.*Z$/, 'endTime');
ok(!exists $n->{closed}, 'still open');

is(ap_get("/\@alice/$pub->{id}")->{json}{id}, $uri,
   '/@alice/ID gives the Note to ActivityPub');

for my $s ([$prv, 'private'], [$dm, 'direct']) {
    my ($st, $v) = @$s;
    is(ap_get("/users/alice/statuses/$st->{id}")->{status}, 404,
       "$v: 404 to an anonymous fetch");
    is($t->get("/\@alice/$st->{id}")->{status}, 404, "$v: no HTML page");
}
is(ap_get("/users/bob/statuses/$pub->{id}")->{status}, 404,
   "another account's status: 404");
is(ap_get('/users/alice/statuses/99999')->{status}, 404, 'unknown: 404');
is(ap_get('/users/alice/statuses/1x')->{status}, 404, 'not an id: 404');
$t->delete("/api/v1/statuses/$cw->{id}", token => $alice);
is(ap_get("/users/alice/statuses/$cw->{id}")->{status}, 404, 'deleted: 404');

# the HTML post page

$r = $t->get("/\@alice/$pub->{id}");
is($r->{status}, 200, 'post page');
like($r->{headers}{'content-type'}, qr{^text/html}, 'HTML');
like($r->{body}, qr{<meta property="og:type" content="article">}, 'og:type');
like($r->{body}, qr{<meta property="og:description" content="Hello again \@bob #Fedi">},
     'og:description: the text');
like($r->{body}, qr{<div class="e-content"><p>Hello again <span class="h-card"[^>]*><a href="\Q$BASE\E/\@bob"},
     'the content, as HTML');
unlike($r->{body}, qr/<script>/, 'the author\'s name is escaped');
is($t->get("/users/alice/statuses/$pub->{id}")->{body}, $r->{body},
   'the status URI: the same page');

# ---- outbox ----

$r = ap_get('/users/alice/outbox');
is($r->{status}, 200, 'outbox');
my $ob = $r->{json};
is($ob->{id}, "$BASE/users/alice/outbox", 'outbox id');
is($ob->{type}, 'OrderedCollection', 'an OrderedCollection');
ok($ob->{totalItems} >= 5, 'totalItems');
is($ob->{first}, "$BASE/users/alice/outbox?page=true", 'first');

$r = ap_get('/users/alice/outbox?page=true');
my $pg = $r->{json};
is($pg->{type}, 'OrderedCollectionPage', 'a page');
is($pg->{partOf}, "$BASE/users/alice/outbox", 'partOf');
my @objs = map { $_->{object}{id} } @{ $pg->{orderedItems} };
is_deeply(\@objs, [ map { "$BASE/users/alice/statuses/$_" }
                    $poll->{id}, $self->{id}, $unl->{id}, $pub->{id} ],
          'Creates of the public and unlisted statuses, newest first');
my $c = $pg->{orderedItems}[-1];
is($c->{type}, 'Create', 'Create activities');
is($c->{actor}, "$BASE/users/alice", 'by the actor');
is($c->{id}, "$uri/activity", 'with their own id');
is_deeply($c->{to}, [$PUBLIC], 'addressed as their object');
ok(!exists $c->{object}{'@context'}, 'no nested @context');
ok(!exists $pg->{next}, 'one page: no next');

# paging through 25 statuses
my @ids = map { post($carol, status => "n$_")->{id} } 1 .. 25;
my (@seen, %pages);
my $next = '/users/carol/outbox?page=true';
while ($next) {
    $pg = ap_get($next)->{json};
    last if $pages{ $pg->{id} }++ || !@{ $pg->{orderedItems} };
    push @seen, map { $_->{object}{id} =~ m{/(\d+)$} } @{ $pg->{orderedItems} };
    ($next = $pg->{next} // '') =~ s{^\Q$BASE\E}{};
}
is_deeply(\@seen, [ reverse @ids ], 'next links walk all 25, once each');
$pg = ap_get('/users/carol/outbox?page=true')->{json};
my $second = ap_get($pg->{next} =~ s{^\Q$BASE\E}{}r)->{json};
is(scalar @{ $second->{orderedItems} }, 5, 'the second page: the rest');
my $back = ap_get($second->{prev} =~ s{^\Q$BASE\E}{}r)->{json};
is_deeply([ map { $_->{object}{id} } @{ $back->{orderedItems} } ],
          [ map { $_->{object}{id} } @{ $pg->{orderedItems} } ],
          'prev leads back to the first page');
is(ap_get('/users/carol/outbox?max_id=x')->{status}, 400, 'a bad bound: 400');
is(ap_get('/users/nobody/outbox')->{status}, 404, 'no such outbox: 404');

# ---- featured ----

$r = ap_get('/users/alice/collections/featured');
is($r->{status}, 200, 'featured');
is($r->{json}{id}, "$BASE/users/alice/collections/featured",
   'featured id: as the actor links it');
is($r->{json}{totalItems}, 0, 'nothing pinned yet');
for my $st ($pub, $prv, $unl) {
    $t->post("/api/v1/statuses/$st->{id}/pin", token => $alice);
}
$r = ap_get('/users/alice/collections/featured')->{json};
is($r->{type}, 'OrderedCollection', 'an OrderedCollection');
is_deeply([ map { $_->{id} } @{ $r->{orderedItems} } ],
          [ map { "$BASE/users/alice/statuses/$_->{id}" } $unl, $pub ],
          'the pinned public and unlisted Notes, last pinned first');
is($r->{orderedItems}[0]{type}, 'Note', 'as Notes');
$r = ap_get('/users/alice/collections/tags');
is($r->{status}, 200, 'featured tags');
is($r->{json}{id}, "$BASE/users/alice/collections/tags", 'its id');
is($r->{json}{totalItems}, 0, 'none');
is(ap_get('/users/nobody/collections/featured')->{status}, 404,
   'no such account: 404');

# ---- followers and following ----

$r = ap_get('/users/alice/followers');
is($r->{json}{type}, 'OrderedCollection', 'followers');
is($r->{json}{id}, $followers, 'followers id');
is($r->{json}{totalItems}, 2, 'two followers');
is($r->{json}{first}, "$followers?page=1", 'first page');
$pg = ap_get('/users/alice/followers?page=1')->{json};
is($pg->{type}, 'OrderedCollectionPage', 'a page of followers');
is($pg->{partOf}, $followers, 'partOf');
is_deeply([ sort @{ $pg->{orderedItems} } ],
          [ "$BASE/users/bob", "$BASE/users/carol" ], 'their actor URIs');
$pg = ap_get('/users/bob/following?page=1')->{json};
is_deeply($pg->{orderedItems}, ["$BASE/users/alice"], 'bob follows alice');
is(ap_get('/users/bob/following')->{json}{totalItems}, 1, 'following count');

$t->patch('/api/v1/accounts/update_credentials', token => $alice,
          form => { hide_collections => 'true' });
$r = ap_get('/users/alice/followers');
is($r->{json}{totalItems}, 2, 'hidden: the total still shows');
ok(!exists $r->{json}{first}, 'but no page');
$r = ap_get('/users/alice/followers?page=1');
ok(!exists $r->{json}{orderedItems}, 'nor the followers on asking a page');
ok(!exists ap_get('/users/alice/following?page=1')->{json}{orderedItems},
   'nor whom she follows');
is(ap_get('/users/nobody/followers')->{status}, 404, 'no such account: 404');

$t->done_testing();
