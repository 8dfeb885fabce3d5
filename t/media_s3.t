#!/usr/bin/perl

# Media in S3-compatible storage (fedi_media_s3_*), against a real
# S3-compatible server, s3rver from npm (t/s3): an upload and an avatar,
# once processed, are PUT to the bucket and leave the disk; their URLs
# are the bucket's (fedi_media_url defaults to endpoint/bucket) and the
# server serves them with their type; deleting the media deletes the
# objects; a bucket that refuses the upload gets a 500 and nothing is
# left behind.  s3rver checks the access key but not the SigV4 signature
# (libcurl makes it).

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use File::Find;
use HTTP::Tiny;
use IO::Socket::INET;
use POSIX ();
use Test::More;
use Fedi::Test qw(multipart);
use Fedi::Media qw(media_root mkimage);

my $S3 = "$FindBin::Bin/s3";
plan(skip_all => 't/s3/node_modules is missing (make test runs npm ci there)')
    unless -d "$S3/node_modules/s3rver";

my $t = Fedi::Test->new();
my $dir = $t->testdir();
my $media = media_root($dir);
my $port = $t->port(9000);

mkdir "$dir/s3" or die;
my $pid = fork() // die "fork: $!";
if ($pid == 0) {
    open STDIN, '<', '/dev/null';
    open STDOUT, '>', "$dir/s3.log";
    open STDERR, '>&', \*STDOUT;
    exec 'node', "$S3/s3rver.mjs", $port, "$dir/s3" or POSIX::_exit(2);
}
END { kill 'TERM', $pid if $pid; }

for (1 .. 100) {
    last if IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port,
                                  Timeout => 1);
    select(undef, undef, undef, 0.1);
}

sub conf {
    my ($key) = @_;
    $t->write_default_conf(<<"EOF");
    fedi_media_root $media;
    fedi_media_s3_endpoint http://127.0.0.1:$port;
    fedi_media_s3_bucket media;
    fedi_media_s3_access_key $key;
    fedi_media_s3_secret_key S3RVER;
EOF
}

conf('S3RVER');
$t->run();

my ($alice) = $t->sign_up('alice');
my $jpeg = mkimage($dir, 'p.jpg', 640, 480, 6);
my $png = mkimage($dir, 'a.png', 300, 300);
my $http = HTTP::Tiny->new(timeout => 10);

sub stored {
    my @f;
    find(sub { push @f, $File::Find::name if -f }, $media);
    return @f;
}

my $r = $t->post('/api/v1/media', token => $alice,
                 multipart(['file', $jpeg, 'p.jpg', 'image/jpeg']));
is($r->{status}, 200, 'an upload') or diag($r->{body});
my $m = $r->{json};
like($m->{url}, qr{^http://127\.0\.0\.1:$port/media/[0-9a-f]{2}/[0-9a-f]{2}/[0-9a-f]{32}\.jpg$},
     'its URL is in the bucket');
like($m->{preview_url}, qr{^http://127\.0\.0\.1:$port/media/.+\.jpg$},
     'its preview too');

my $o = $http->get($m->{url});
is($o->{status}, 200, 'the server has the object');
is($o->{headers}{'content-type'}, 'image/jpeg', 'stored as a JPEG');
like($o->{content}, qr/^\xff\xd8\xff/, 'a JPEG it is');
unlike($o->{content}, qr/FediCam|Secret Model/, 'processed: no metadata');
is($http->get($m->{preview_url})->{status}, 200, 'and the preview');
is_deeply([stored()], [], 'nothing stays on the disk');

$r = $t->patch('/api/v1/accounts/update_credentials', token => $alice,
               multipart(['avatar', $png, 'a.png', 'image/png']));
is($r->{status}, 200, 'an avatar') or diag($r->{body});
like($r->{json}{avatar}, qr{^http://127\.0\.0\.1:$port/media/.+\.png$},
     'in the bucket');
$o = $http->get($r->{json}{avatar});
is($o->{headers}{'content-type'}, 'image/png', 'served as a PNG');

$r = $t->delete("/api/v1/media/$m->{id}", token => $alice);
is($r->{status}, 200, 'the upload deleted');
my $st;
for (1 .. 100) {
    $st = $http->get($m->{url})->{status};
    last if $st == 404;
    select(undef, undef, undef, 0.05);
}
is($st, 404, 'its object is deleted');
is($http->get($m->{preview_url})->{status}, 404, 'its preview\'s too');

# fedictl media remove: an old unattached upload goes, object and all

$r = $t->post('/api/v1/media', token => $alice,
              multipart(['file', $jpeg, 'p.jpg', 'image/jpeg']));
my $old = $r->{json};
is($http->get($old->{url})->{status}, 200, 'an upload left unattached');
$t->psql("UPDATE media_attachments SET created_at = now() - interval '2 days'"
         . " WHERE id = $old->{id}");
local @ENV{qw(FEDI_S3_ACCESS_KEY FEDI_S3_SECRET_KEY)} = qw(S3RVER S3RVER);
my $out = `$Fedi::Test::TOP/build/fedictl --db '${\ $t->conninfo()}' media remove --root $media --s3-endpoint http://127.0.0.1:$port --s3-bucket media 2>&1`;
is($?, 0, 'fedictl media remove with the bucket') or diag($out);
like($out, qr/removed 1 unattached uploads \(2 files\)/, 'one upload, two files');
is($http->get($old->{url})->{status}, 404, 'its object is deleted');
is($http->get($old->{preview_url})->{status}, 404, 'and its preview\'s');

# a bucket that refuses: 500, and neither file nor object left

conf('NOBODY');
$t->reload();

$r = $t->post('/api/v1/media', token => $alice,
              multipart(['file', $jpeg, 'p.jpg', 'image/jpeg']));
is($r->{status}, 500, 'the bucket refuses the key: 500');
is_deeply([stored()], [], 'nothing left on the disk');
my @objects;
find(sub { push @objects, $_ if /\.jpg/ }, "$dir/s3");
is(scalar @objects, 0, 'nor in the bucket') or diag(explain(\@objects));

$t->done_testing();
