#!/usr/bin/perl

# An attachment federates: in the lab (t/lib/Fedi/Lab.pm), the Fedify peer
# looks up a Note of ours with a picture and reads its attachment as a
# Document, then fetches the picture itself over TLS, as a remote server
# would.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use Fedi::Test qw(multipart);
use Fedi::Lab;

if (my $why = Fedi::Lab->available()) {
    plan skip_all => $why;
}

my $lab = Fedi::Lab->new();
my $ours = $lab->host('ours.test');
$lab->host('peer.test');
$lab->start_dns();
$lab->start_peer('peer.test');

my $t = Fedi::Test->new(domain => 'ours.test', https => 'on');
my $dir = $t->testdir();
my $media = "$dir/media";
mkdir $media or die "mkdir $media: $!";
chmod 0777, $media;         # nginx's workers (nobody) write there

system("cc -o $dir/mkimage $FindBin::Bin/media/mkimage.c "
       . "\$(pkg-config --cflags --libs vips)") == 0
    or die "cannot build t/media/mkimage.c";
system("$dir/mkimage", "$dir/p.jpg", 640, 480, 6) == 0 or die 'mkimage';
my $jpeg = do { local $/; open(my $fh, '<:raw', "$dir/p.jpg") or die; <$fh> };

my ($crt, $key) = ($lab->cert('ours.test'), $lab->key('ours.test'));

$t->write_default_conf("    fedi_media_root $media;\n"
                       . "    client_max_body_size 20m;\n", <<"EOF");
        listen $ours:443 ssl;
        server_name ours.test;
        ssl_certificate $crt;
        ssl_certificate_key $key;

        location /system/ {
            alias $media/;
            types { image/jpeg jpg; }
            default_type application/octet-stream;
            add_header X-Content-Type-Options nosniff always;
        }
EOF
$t->run();

my ($alice) = $t->sign_up('alice');

my $r = $t->post('/api/v1/media', token => $alice,
    multipart(['file', $jpeg, 'p.jpg', 'image/jpeg'],
              ['description', 'A picture in the lab'],
              ['focus', '0.5,-0.5']));
is($r->{status}, 200, 'alice uploads a picture') or diag($r->{body});
my $m = $r->{json};

$r = $t->post('/api/v1/statuses', token => $alice,
              json => { status => 'look', media_ids => [$m->{id}] });
is($r->{status}, 200, 'and posts it');
my $uri = "https://ours.test/users/alice/statuses/$r->{json}{id}";

# the document as it goes out

$r = $lab->https_get('ours.test', "/users/alice/statuses/$r->{json}{id}",
                     Accept => 'application/activity+json');
my $doc = $r->{json}{attachment}[0];
is($doc->{type}, 'Document', 'the Note has a Document');
is($doc->{blurhash}, $m->{blurhash}, 'with the blurhash');
is_deeply($doc->{focalPoint}, [0.5, -0.5], 'and the focal point');
my ($ctx) = grep { ref $_ eq 'HASH' } @{ $r->{json}{'@context'} };
is($ctx->{blurhash}, 'toot:blurhash', 'both defined in the @context');
is($ctx->{focalPoint}{'@id'}, 'toot:focalPoint', 'as Mastodon defines them');

# an independent implementation reads it

$r = $lab->peer('peer.test', 'lookup', q => $uri);
is($r->{status}, 200, 'the peer looks the Note up') or diag($r->{body});
is($r->{json}{type}, 'Note', 'Fedify reads a Note');

my $att = $r->{json}{json}{attachment};
$att = $att->[0] if ref $att eq 'ARRAY';
is($att->{type}, 'Document', 'Fedify reads its attachment as a Document')
    or diag(explain($r->{json}{json}));
is($att->{mediaType}, 'image/jpeg', 'its mediaType');
my $url = ref $att->{url} eq 'HASH' ? $att->{url}{href} : $att->{url};
is($url, $m->{url}, 'its url');
is($att->{name}, 'A picture in the lab', 'its name');
is("$att->{width}x$att->{height}", '480x640', 'its width and height');

# and fetches the picture over TLS

$r = $lab->peer('peer.test', 'fetch', url => $m->{url});
is($r->{json}{status}, 200, 'the peer fetches the picture');
is($r->{json}{type}, 'image/jpeg', 'as a JPEG');

$t->done_testing();
