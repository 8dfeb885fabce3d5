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

my $t = Fedi::Test->new(domain => 'ours.test', https => 'on');
my ($crt, $key) = ($lab->cert('ours.test'), $lab->key('ours.test'));

$t->write_default_conf('', <<"EOF");
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

done_testing();
