#!/usr/bin/perl

# fedi_authorized_fetch on (Mastodon's secure mode): our ActivityPub
# documents go only to a request signed by a known actor, while the
# instance actor (https://DOMAIN/actor) and WebFinger stay open, so a
# server can fetch the key to verify our own signed fetches.  Signatures
# made here with Perl's OpenSSL binding, as "mallory" of peer.test.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use Fedi::Test;
use Fedi::Lab;
use Fedi::Cavage;

my $lab = Fedi::Lab->new();
$lab->host($_) for qw(ours.test peer.test open.test);
$lab->start_dns();
my $key = $lab->mallory_key();
$lab->start_peer('peer.test', LAB_ACTOR_PEM => $lab->mallory_pem());

$ENV{FEDI_TEST_LOG_LEVEL} = 'info';

my $t = $lab->instance('ours.test', http => "    fedi_authorized_fetch on;\n");
my $open = $lab->instance('open.test');

my ($alice) = $t->sign_up('alice');
my $status = $t->post('/api/v1/statuses', token => $alice,
                      form => { status => 'for the signed only' })->{json};

my $AP = 'application/activity+json';
my $MALLORY = 'https://peer.test/users/mallory';

# a draft-cavage GET as Mastodon signs its fetches; %o changes one thing
sub fetch {
    my ($path, %o) = @_;
    my $h = Fedi::Cavage::headers(method => 'get', path => $path,
        key => $o{key} // $key, key_id => $o{key_id} // "$MALLORY#main-key",
        unsigned => !$o{signed});
    return $t->get($path, headers => [Accept => $o{accept} // $AP, @$h]);
}

# unsigned: refused, for every kind of document

for my $path ('/users/alice', '/@alice', '/users/alice/outbox',
              '/users/alice/followers', '/users/alice/following',
              '/users/alice/collections/featured',
              "/users/alice/statuses/$status->{id}") {
    my $r = fetch($path);
    is($r->{status}, 401, "unsigned GET $path for ActivityPub: 401");
    like($r->{json}{error} // '', qr/sign/i, 'the error says it is not signed');
}

my $r = fetch('/@alice', accept => 'text/html');
is($r->{status}, 200, 'the HTML profile page stays public');
like($r->{headers}{'content-type'}, qr{text/html}, 'as HTML');

# signed by a known actor's key: served, and not for shared caches

$r = fetch('/users/alice', signed => 1);
is($r->{status}, 200, 'signed by mallory of peer.test: 200')
    or diag($r->{body}, $t->error_log());
is($r->{json}{id}, 'https://ours.test/users/alice', 'the actor');
is($r->{headers}{'cache-control'}, 'max-age=180, private',
   'Cache-Control: private, as it was for this signer');
like($r->{headers}{vary} // '', qr/\bSignature\b/, 'Vary: Signature');

$r = fetch("/users/alice/statuses/$status->{id}", signed => 1);
is($r->{status}, 200, 'a signed GET of a status');
is($r->{json}{type}, 'Note', 'the Note');

require Crypt::OpenSSL::RSA;
my $other = Crypt::OpenSSL::RSA->generate_key(2048);
$other->use_sha256_hash();
$r = fetch('/users/alice', signed => 1, key => $other);
is($r->{status}, 401, 'signed with a key that is not mallory\'s: 401');
unlike($t->error_log(), qr/failed again within a minute/,
       'the first time, mallory\'s actor was fetched again (a rotated key?)');
# three in all: two of them reach the same worker (the limit is each
# worker's), whichever way the connections are shared out
for (1 .. 2) {
    $r = fetch('/users/alice', signed => 1, key => $other);
    is($r->{status}, 401, 'forged again: 401');
}
like($t->error_log(), qr/mallory#main-key" failed again within a minute: its actor is not fetched again/,
     'but peer.test is not asked again within the minute');

# a key published apart from its actor, as GoToSocial does: the keyId
# (https://peer.test/users/gary/main-key, no fragment) serves a stub whose
# id is the actor's; the actor is fetched by that id, and names the key
my $GARY = 'https://peer.test/users/gary';
my $pem = $key->get_public_key_x509_string();
my $enc = sub { JSON::PP->new->canonical->encode($_[0]) };
$lab->https('peer.test', 'POST', '/_lab/serve?path=/users/gary/main-key',
    $enc->({ '@context' => ['https://w3id.org/security/v1',
                            'https://www.w3.org/ns/activitystreams'],
             id => $GARY, type => 'Person', preferredUsername => 'gary',
             publicKey => { id => "$GARY/main-key", owner => $GARY,
                            publicKeyPem => $pem } }));
$lab->https('peer.test', 'POST', '/_lab/serve?path=/users/gary',
    $enc->({ '@context' => ['https://www.w3.org/ns/activitystreams',
                            'https://w3id.org/security/v1'],
             id => $GARY, type => 'Person', preferredUsername => 'gary',
             inbox => "$GARY/inbox",
             publicKey => { id => "$GARY/main-key", owner => $GARY,
                            publicKeyPem => $pem } }));
$r = fetch('/users/alice', signed => 1, key_id => "$GARY/main-key");
is($r->{status}, 200, 'signed with a GoToSocial-style keyId: 200')
    or diag($r->{body}, $t->error_log());
is($t->psql("SELECT public_key_id FROM accounts WHERE uri = '$GARY'") =~ s/\s+$//r,
   "$GARY/main-key", 'the actor is stored with that key id');

# the instance actor and WebFinger stay open

$r = $t->get('/actor', headers => [Accept => $AP]);
is($r->{status}, 200, 'GET /actor unsigned: 200');
is($r->{json}{id}, 'https://ours.test/actor', 'its id');
is($r->{json}{type}, 'Application', 'an Application');
is($r->{json}{preferredUsername}, 'ours.test', 'named after the domain');
is($r->{json}{inbox}, 'https://ours.test/actor/inbox', 'its inbox');
is($r->{json}{publicKey}{id}, 'https://ours.test/actor#main-key', 'its key id');
is($r->{json}{publicKey}{owner}, 'https://ours.test/actor', 'owned by it');
my ($pub) = $t->psql('SELECT public_key FROM instance_actor');
is(($r->{json}{publicKey}{publicKeyPem} // "") =~ s/\s+$//r, $pub =~ s/\s+$//r,
   'the key fedictl db migrate made');
like($pub, qr/^-----BEGIN PUBLIC KEY-----/, 'a PEM public key');
is($t->psql("SELECT count(*) FROM instance_actor WHERE private_key LIKE"
            . " '-----BEGIN PRIVATE KEY-----%'") + 0, 1,
   'with its private half');

$r = $t->get('/actor/outbox', headers => [Accept => $AP]);
is($r->{json}{type}, 'OrderedCollection', 'its outbox: an OrderedCollection');
is($r->{json}{totalItems}, 0, 'empty');
$r = $t->post('/actor/inbox', body => '{"type":"Follow"}',
              headers => ['Content-Type' => $AP]);
is($r->{status}, 401, 'its inbox is an inbox: unsigned, 401');

$r = $t->get('/.well-known/webfinger?resource=acct:ours.test@ours.test');
is($r->{status}, 200, 'WebFinger knows acct:ours.test@ours.test');
my ($self) = grep { $_->{rel} eq 'self' } @{ $r->{json}{links} // [] };
is($self->{href}, 'https://ours.test/actor', 'as the instance actor');
$r = $t->get('/.well-known/webfinger?resource=https://ours.test/actor');
is($r->{json}{subject}, 'acct:ours.test@ours.test', 'and by its URL');

# another instance resolves our instance actor (an Application) and
# stores it like any remote account
my ($bob) = $open->sign_up('bob');
$r = $open->get('/api/v1/accounts/lookup?acct=ours.test@ours.test', token => $bob);
is($r->{status}, 200, 'open.test resolves the instance actor of ours.test')
    or diag($r->{body}, $open->error_log());
is($r->{json}{bot}, JSON::PP::true, 'a bot');

# open.test signs its fetches with its own instance actor's key: ours.test
# verifies them (fetching https://open.test/actor, open in every mode) and
# answers; the signer stored there is that instance actor
$r = $open->get('/api/v1/accounts/lookup?acct=alice@ours.test', token => $bob);
is($r->{status}, 200, 'open.test fetches alice from ours.test, signed')
    or diag($r->{body}, $t->error_log());
is($r->{json}{acct}, 'alice@ours.test', 'and has her');
is($t->psql("SELECT actor_type FROM accounts WHERE uri = 'https://open.test/actor'")
   =~ s/\s+$//r, 'Service', 'ours.test knows the signer: open.test\'s instance actor');

# a suspended domain's actors are not believed
my $FEDICTL = "$Fedi::Test::TOP/build/fedictl";
my $out = `$FEDICTL --db '@{[ $t->conninfo() ]}' domains block peer.test 2>&1`;
is($?, 0, 'fedictl domains block peer.test') or diag($out);
$r = fetch('/users/alice', signed => 1);
is($r->{status}, 401, 'then mallory\'s signed GET: 401');

# without fedi_authorized_fetch, documents are public and cacheable
$r = $open->get('/users/bob', headers => [Accept => $AP]);
is($r->{status}, 200, 'open.test serves an actor unsigned');
is($r->{headers}{'cache-control'}, 'max-age=180, public', 'publicly cacheable');

done_testing();
