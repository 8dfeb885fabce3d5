#!/usr/bin/perl

# The federation lab (t/lib/Fedi/Lab.pm): our instance at https://ours.test
# and an independent peer built on Fedify at https://peer.test, each on its
# own 127.0.0.x:443 with a certificate of the lab's throw-away CA, names
# answered by the lab's dnsmasq.  Here: the lab itself works both ways.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use Fedi::Test;
use Fedi::Lab;

my $lab = Fedi::Lab->new();
my $ours = $lab->host('ours.test');
$lab->host('peer.test');
$lab->start_dns();
$lab->start_peer('peer.test');

# the fetches' refusals are logged at "info"
$ENV{FEDI_TEST_LOG_LEVEL} = 'info';

my $t = Fedi::Test->new(domain => 'ours.test', https => 'on');
my ($crt, $key) = ($lab->cert('ours.test'), $lab->key('ours.test'));
my ($dns, $peer_ip, $ca) = ($lab->dns(), $lab->address('peer.test'), $lab->ca());

# our outbound fetches: the lab's DNS, its CA, and only the peer's private
# address allowed
my $fetching = <<"EOF";
    resolver $dns valid=30s ipv6=off;
    resolver_timeout 5s;
    fedi_outbound_allow $peer_ip/32;
    fedi_ssl_trusted_certificate $ca;
    fedi_fetch_timeout 3s;
EOF

$t->write_default_conf($fetching, <<"EOF");
        listen $ours:443 ssl;
        server_name ours.test;
        ssl_certificate $crt;
        ssl_certificate_key $key;
EOF
$t->run();

# the peer resolves ours.test through the lab's DNS and trusts our
# certificate through the lab's CA

my $r = $lab->peer('peer.test', 'fetch', url => 'https://ours.test/api/v2/instance');
is($r->{status}, 200, 'the peer reaches its control endpoint');
is($r->{json}{status}, 200, 'the peer fetches https://ours.test/ (lab DNS, lab CA)')
    or diag($r->{body});
my $instance = eval { JSON::PP->new->utf8->decode($r->{json}{body} // '') };
is($instance->{domain}, 'ours.test', 'and our instance answers for ours.test');

$r = $lab->peer('peer.test', 'fetch', url => 'https://nowhere.test/');
isnt($r->{json}{status}, 200, 'a name the lab does not know does not resolve');

# we reach the peer the same way: its actor, served by Fedify

$r = $lab->https_get('peer.test', '/users/bob',
                     Accept => 'application/activity+json');
is($r->{status}, 200, 'the peer serves its actor over TLS');
is($r->{json}{id}, 'https://peer.test/users/bob', 'with its id');
is($r->{json}{type}, 'Person', 'a Person');
like($r->{json}{publicKey}{publicKeyPem} // '', qr/BEGIN PUBLIC KEY/,
     'with an RSA key for draft-cavage signatures');
is($r->{json}{inbox}, 'https://peer.test/users/bob/inbox', 'and an inbox');

$r = $lab->https_get('peer.test', '/.well-known/webfinger?resource=acct:bob@peer.test');
is($r->{status}, 200, 'the peer answers WebFinger');
my ($self_link) = grep { ($_->{rel} // '') eq 'self' } @{ $r->{json}{links} // [] };
is($self_link->{href}, 'https://peer.test/users/bob', 'pointing at its actor');

# resolving a remote handle: WebFinger at peer.test, then the actor,
# fetched over TLS on nginx's own resolver and connections

$r = $t->get('/api/v1/accounts/lookup?acct=bob@peer.test');
is($r->{status}, 200, 'a remote handle resolves through WebFinger')
    or diag($r->{body}, $t->error_log());
is($r->{json}{acct}, 'bob@peer.test', 'acct is user@domain');
is($r->{json}{username}, 'bob', 'username');
is($r->{json}{display_name}, 'Bob of the lab', 'the name from the actor');
is($r->{json}{url}, 'https://peer.test/users/bob', 'url: the remote profile');
my $bob_id = $r->{json}{id};

my ($row) = $t->psql("SELECT uri || ' ' || inbox_url || ' '"
                     . " || (public_key LIKE '-----BEGIN PUBLIC KEY-----%')"
                     . " FROM accounts WHERE id = $bob_id");
like($row, qr{^https://peer\.test/users/bob https://peer\.test/users/bob/inbox true},
     'stored with its actor id, inbox and key');

$r = $t->get("/api/v1/accounts/$bob_id");
is($r->{json}{acct}, 'bob@peer.test', 'and served like any account');

$r = $t->get('/api/v1/accounts/lookup?acct=@bob@peer.test');
is($r->{json}{id}, $bob_id, 'looked up again: the same account');

# what must not be believed or fetched

sub refused {
    my ($acct, $why, $name) = @_;
    my $r = $t->get("/api/v1/accounts/lookup?acct=$acct");
    is($r->{status}, 404, "$name: not found");
    like($t->error_log(), qr/fetching "[^"]*": \Q$why\E/, "$name: $why")
        if defined $why;
    my ($user, $domain) = split /@/, $acct;
    is($t->psql("SELECT count(*) FROM accounts WHERE username = '$user'"
                . " AND domain = '$domain'") + 0, 0, "$name: nothing stored");
}

refused('nobody@peer.test', undef, 'an unknown user');
refused('liar@peer.test', undef, 'an actor whose id is not its URL');
refused('html@peer.test', undef, 'a document that is not ActivityPub');
refused('huge@peer.test', 'the response is too large', 'a 10 MB body');
refused('slow@peer.test', 'timed out', 'a peer sending a byte a second');
refused('away@peer.test', 'a private address', 'a redirect to a loopback address');
refused('bob@nowhere.test', 'cannot resolve', 'a domain that does not resolve');

# a client that gives up while its fetch still trickles in: the fetch is
# dropped with the request (ASan watches), and the worker goes on
$r = $t->get('/api/v1/accounts/lookup?acct=slow@peer.test', timeout => 1);
is($r->{status} // 0, 0, 'the client gave up before an answer');
sleep 1;
is($t->get('/api/v1/accounts/lookup?acct=bob@peer.test')->{status}, 200,
   'the worker serves the next request');

# instance moderation: fedictl domains block|unblock

my $FEDICTL = "$Fedi::Test::TOP/build/fedictl";

sub fedictl {
    my $out = `$FEDICTL --db '@{[ $t->conninfo() ]}' @_ 2>&1`;
    return ($? >> 8, $out);
}

sub bob_state {
    return $t->psql("SELECT (suspended_at IS NOT NULL) || ' '"
                    . " || (silenced_at IS NOT NULL) FROM accounts"
                    . " WHERE id = $bob_id") =~ s/\s+$//r;
}

sub in_public {
    my ($id) = @_;
    my $r = $t->get('/api/v1/timelines/public?limit=40');
    return scalar grep { $_->{id} eq $id } @{ $r->{json} // [] };
}

my ($carol) = $t->psql("INSERT INTO accounts (username) VALUES ('carol')"
                       . " RETURNING id") =~ /(\d+)/;
$t->psql("INSERT INTO follows (account_id, target_account_id)"
         . " VALUES ($carol, $bob_id), ($bob_id, $carol)");
my ($note) = $t->psql("INSERT INTO statuses (account_id, text, content, uri)"
                      . " VALUES ($bob_id, 'hi', '<p>hi</p>',"
                      . " 'https://peer.test/users/bob/statuses/1')"
                      . " RETURNING id") =~ /(\d+)/;
ok(in_public($note), "a remote account's public post is in the public timeline");

my ($rc, $out) = fedictl('domains', 'block', 'bad_domain!');
is($rc, 2, 'fedictl domains block: a bad name is a usage error');

($rc, $out) = fedictl('domains', 'block', 'Peer.Test.', '--severity', 'silence',
                      '--comment', 'noisy');
is($rc, 0, 'fedictl domains block --severity silence') or diag($out);
like($out, qr/^peer\.test: created \(silence\), 1 known accounts$/m,
     'it says what it did, to how many accounts');
is(bob_state(), 'false true', 'the domain\'s accounts are silenced');
ok(!in_public($note), 'and out of the public timeline');

($rc, $out) = fedictl('domains', 'block', 'peer.test');
like($out, qr/^peer\.test: updated \(suspend\)/m, 'then suspended');
is(bob_state(), 'true false', 'the domain\'s accounts are suspended');
is($t->psql("SELECT count(*) FROM follows WHERE $bob_id IN"
            . " (account_id, target_account_id)") + 0, 0,
   'and their follows end, both ways');
($rc, $out) = fedictl('domains', 'list');
like($out, qr/^peer\.test\tsuspend\tnoisy$/m, 'fedictl domains list');

$t->psql("DELETE FROM accounts WHERE id = $bob_id");
refused('bob@peer.test', undef, 'a handle of a suspended domain');
like($t->error_log(), qr/peer\.test is suspended: \S*acct:bob\@peer\.test is not fetched/,
     'nothing is fetched from a suspended domain');

($rc, $out) = fedictl('domains', 'unblock', 'peer.test');
is($rc, 0, 'fedictl domains unblock') or diag($out);
($rc, $out) = fedictl('domains', 'unblock', 'peer.test');
is($rc, 1, 'unblocking what is not blocked fails');
$r = $t->get('/api/v1/accounts/lookup?acct=bob@peer.test');
is($r->{status}, 200, 'unblocked: the handle resolves again');
$bob_id = $r->{json}{id};
is(bob_state(), 'false false', 'neither suspended nor silenced');

# GET /api/v2/search: with resolve=true and a token, a remote handle or
# an actor's URL is fetched; without a token, only what is known

sub search {
    my ($q, %o) = @_;
    my $qs = join '&', map { "$_=" . Fedi::Test::_urlencode($o{$_}) }
                       grep { $_ ne 'token' } sort keys %o;
    return $t->get('/api/v2/search?q=' . Fedi::Test::_urlencode($q)
                   . ($qs ? "&$qs" : ''), token => $o{token});
}

sub accts { [ map { $_->{acct} } @{ $_[0]{json}{accounts} // [] } ] }

my ($dana) = $t->sign_up('dana');
ok($dana, 'a local user to search as');

$t->psql("DELETE FROM accounts WHERE id = $bob_id");
$r = search('@bob@peer.test', resolve => 'true');
is($r->{status}, 200, 'search without a token');
is_deeply(accts($r), [], 'resolve needs a token: nothing fetched');

$r = search('@bob@peer.test', resolve => 'true', token => $dana);
is_deeply(accts($r), ['bob@peer.test'], 'with a token, the handle resolves');
is_deeply([ $r->{json}{statuses}, $r->{json}{hashtags} ], [ [], [] ],
          'with empty statuses and hashtags');
$r = search('bob', token => $dana);
is_deeply(accts($r), ['bob@peer.test'], 'then found by prefix too');

$t->psql("DELETE FROM accounts WHERE domain = 'peer.test'");
$r = search('https://peer.test/users/bob', resolve => 'true', token => $dana);
is_deeply(accts($r), ['bob@peer.test'], "an actor's URL resolves");
$r = search('https://peer.test/_lab/actor/liar', resolve => 'true', token => $dana);
is_deeply(accts($r), [], 'a URL whose document is not that actor does not');

$t->psql("INSERT INTO tags (name) VALUES ('lab'), ('Labrador'), ('other')");
$r = search('#lab', token => $dana);
is_deeply([ map { $_->{name} } @{ $r->{json}{hashtags} } ], ['lab', 'labrador'],
          'hashtags by prefix');
is($r->{json}{hashtags}[0]{url}, 'https://ours.test/tags/lab', 'with their URL');
$r = search('lab', type => 'accounts', token => $dana);
is_deeply($r->{json}{hashtags}, [], 'type=accounts: no hashtags');
$r = search('', token => $dana);
is($r->{status}, 400, 'no query: 400');

# a new post's mentions of remote accounts: known ones, and unknown ones
# resolved through WebFinger before the post is stored

$t->psql("DELETE FROM accounts WHERE domain = 'peer.test'");
$r = $t->post('/api/v1/statuses', token => $dana, form => {
    status => 'hello @bob@peer.test, @ghost@peer.test and @carol' });
is($r->{status}, 200, 'a post mentioning remote accounts') or diag($r->{body});
is_deeply([ sort map { $_->{acct} } @{ $r->{json}{mentions} } ],
          [ 'bob@peer.test', 'carol' ],
          'the remote account resolved on the way, the unknown one left out');
my ($m) = grep { $_->{acct} eq 'bob@peer.test' } @{ $r->{json}{mentions} };
is($m->{url}, 'https://peer.test/users/bob', 'its URL is the remote profile');
like($r->{json}{content},
     qr{<a href="https://peer\.test/users/bob" class="u-url mention">},
     'the mention links to the remote profile');
like($r->{json}{content}, qr/\@ghost\@peer\.test/, 'the unknown one stays text');
unlike($r->{json}{content}, qr{href="[^"]*ghost}, 'with no link');

# the peer, an independent implementation, finds alice through our
# WebFinger and actor, and follows her: its signed Follow (Fedify tries
# RFC 9421 first, then draft-cavage) passes our inbox

my ($alice) = $t->sign_up('alice');
my $alice_id = $t->get('/api/v1/accounts/lookup?acct=alice')->{json}{id};
$r = $lab->peer('peer.test', 'lookup', q => '@alice@ours.test');
is($r->{status}, 200, 'the peer looks alice up') or diag($r->{body});
is($r->{json}{id}, 'https://ours.test/users/alice', 'and reads her actor');
$r = $lab->peer('peer.test', 'follow', q => '@alice@ours.test');
is($r->{status}, 200, 'the peer sends a Follow') or diag($r->{body});
my $followers;
for (1 .. 100) {
    $followers = $t->get("/api/v1/accounts/$alice_id/followers")->{json};
    last if @$followers;
    select(undef, undef, undef, 0.1);
}
is_deeply([ map { $_->{acct} } @$followers ], ['bob@peer.test'],
          "the peer's bob follows alice")
    or diag($t->error_log(), $lab->peer_log('peer.test'));

# the peer's bob posts to alice, signed by Fedify: Create, a reply, Like,
# Announce, Update and Delete, each seen through alice's API once
# processed

sub eventually_ok {
    my ($code) = @_;
    for (1 .. 100) {
        my $v = $code->();
        return $v if $v;
        select(undef, undef, undef, 0.1);
    }
    return undef;
}

sub status_of {
    my ($uri) = @_;
    return eventually_ok(sub {
        ($t->psql("SELECT id FROM statuses WHERE uri = '$uri'"
                  . " AND deleted_at IS NULL"))[0] });
}

sub send_as_bob {
    my (%q) = @_;
    my $r = $lab->peer('peer.test', 'send', to => '@alice@ours.test', %q);
    is($r->{status}, 200, "the peer sends a $q{what}") or diag($r->{body});
}

my $hers = $t->post('/api/v1/statuses', token => $alice,
                    form => { status => 'alice here' })->{json}{id};
my $hers_uri = "https://ours.test/users/alice/statuses/$hers";

send_as_bob(what => 'create', id => 'f1',
            content => '<p>hello alice<script>alert(1)</script></p>');
my $f1 = status_of('https://peer.test/notes/f1');
ok($f1, 'its Create is a status here') or diag($t->error_log());
$r = $t->get("/api/v1/statuses/$f1", token => $alice)->{json};
is($r->{account}{acct}, 'bob@peer.test', "bob's");
is($r->{content}, '<p>hello alice</p>', 'sanitized');
is($r->{visibility}, 'public', 'public (Fedify writes as:Public)');
ok(eventually_ok(sub { grep { $_->{type} eq 'mention' && $_->{status}{id} eq $f1 }
                       @{ $t->get('/api/v1/notifications', token => $alice)->{json} } }),
   'alice is notified of the mention');

send_as_bob(what => 'create', id => 'f2', content => '<p>a reply</p>',
            inReplyTo => $hers_uri);
my $f2 = status_of('https://peer.test/notes/f2');
is($t->get("/api/v1/statuses/$f2", token => $alice)->{json}{in_reply_to_id},
   $hers, 'a reply to her status joins its thread');

send_as_bob(what => 'like', id => 'l1', object => $hers_uri);
ok(eventually_ok(sub { $t->get("/api/v1/statuses/$hers", token => $alice)
                          ->{json}{favourites_count} == 1 }), 'Like: a favourite');

send_as_bob(what => 'announce', id => 'a1', object => $hers_uri);
ok(eventually_ok(sub { $t->get("/api/v1/statuses/$hers", token => $alice)
                          ->{json}{reblogs_count} == 1 }), 'Announce: a boost');
ok(eventually_ok(sub { grep { $_->{type} eq 'reblog' }
                       @{ $t->get('/api/v1/notifications', token => $alice)->{json} } }),
   'alice is notified of it');

send_as_bob(what => 'undo-like', id => 'l1', object => $hers_uri);
ok(eventually_ok(sub { $t->get("/api/v1/statuses/$hers", token => $alice)
                          ->{json}{favourites_count} == 0 }), 'Undo of the Like');

send_as_bob(what => 'update', id => 'f1', content => '<p>hello again</p>');
ok(eventually_ok(sub { $t->get("/api/v1/statuses/$f1", token => $alice)
                          ->{json}{content} eq '<p>hello again</p>' }),
   'Update: the status is edited');
is(scalar @{ $t->get("/api/v1/statuses/$f1/history", token => $alice)->{json} },
   2, 'with its history');

send_as_bob(what => 'delete', id => 'f1');
ok(eventually_ok(sub { $t->get("/api/v1/statuses/$f1", token => $alice)
                          ->{status} == 404 }), 'Delete: the status is gone');

# instances that lack one of the settings: bob@peer.test is out of reach,
# for the reason the log gives

sub lacking {
    my ($name, $conf, $why, $what) = @_;
    my $i = Fedi::Test->new(domain => "$name.test", https => 'on');
    $i->write_default_conf("    resolver $dns valid=30s ipv6=off;\n$conf");
    $i->run();
    my $r = $i->get('/api/v1/accounts/lookup?acct=bob@peer.test');
    is($r->{status}, 404, "$what: not found");
    like($i->error_log(), qr/fetching "[^"]*": \Q$why\E/, "$what: $why");
}

lacking('other', "    fedi_outbound_allow $peer_ip/32;\n",
        'the certificate does not verify', 'a certificate of an unknown CA');
lacking('third', "    fedi_ssl_trusted_certificate $ca;\n",
        'a private address', 'without fedi_outbound_allow, after resolution');

done_testing();
