#!/usr/bin/perl

# Mastodon's throttle_media: POST /api/v1/media and /api/v2/media, so
# many per 30 minutes per account (fedi_media_rate_limit, 30 as Mastodon;
# 3 here), refused or not, then 429 with this limit's X-RateLimit-*
# headers.  Other accounts and other endpoints are not held back.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use Fedi::Test qw(multipart);
use Fedi::Media qw(media_root mkimage);

my $t = Fedi::Test->new(rate_limit => 1000);
my $dir = $t->testdir();
my $media = media_root($dir);
my $jpeg = mkimage($dir, 'p.jpg', 64, 48);

$t->write_default_conf("    fedi_media_root $media;\n"
                       . "    fedi_media_rate_limit 3;\n");
$t->run();

my ($alice) = $t->sign_up('alice');
my ($bob) = $t->sign_up('bob');

sub upload {
    my ($token, $path, $bytes) = @_;
    return $t->post($path, token => $token,
                    multipart(['file', $bytes, 'p.jpg', 'image/jpeg']));
}

my @r = (upload($alice, '/api/v1/media', $jpeg),
         upload($alice, '/api/v2/media', ''),          # refused, counted
         upload($alice, '/api/v2/media', $jpeg));
is_deeply([map { $_->{status} } @r], [200, 422, 200],
          'three uploads, one of them refused');
is($r[0]{headers}{'x-ratelimit-limit'}, 1000,
   "under the limit the headers are the API's");

my $r = upload($alice, '/api/v1/media', $jpeg);
is($r->{status}, 429, 'the fourth in 30 minutes: 429');
is($r->{json}{error}, 'Too many requests', 'Mastodon-shaped');
is($r->{headers}{'x-ratelimit-limit'}, 3, 'X-RateLimit-Limit of uploads');
is($r->{headers}{'x-ratelimit-remaining'}, 0, 'none remaining');
like($r->{headers}{'x-ratelimit-reset'},
     qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z$/, 'X-RateLimit-Reset');

my ($h, $m) = $r->{headers}{'x-ratelimit-reset'} =~ /T(\d\d):(\d\d)/;
ok($m == 0 || $m == 30, 'the reset at the end of a 30-minute window');

my $raw = $t->http_raw("POST /api/v2/media HTTP/1.1\r\nHost: x\r\n"
                       . "Authorization: Bearer $alice\r\n"
                       . "Content-Length: 0\r\nConnection: close\r\n\r\n");
my @limits = $raw =~ /^X-RateLimit-Limit: (\d+)/mig;
is_deeply(\@limits, [3], 'one X-RateLimit-Limit, the uploads\', not the API\'s too');
like($raw, qr{^HTTP/1\.1 429}, 'v2 too');

is(upload($bob, '/api/v1/media', $jpeg)->{status}, 200,
   'another account uploads');
is($t->get('/api/v1/accounts/verify_credentials', token => $alice)->{status},
   200, 'and alice still reads');

my $id = $r[0]{json}{id};
is($t->put("/api/v1/media/$id", token => $alice,
           json => { description => 'still' })->{status}, 200,
   'and changes her media (PUT is not an upload)');

$t->done_testing();
