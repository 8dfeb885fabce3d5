#!/usr/bin/perl

# The remote media cache (fedi_media_cache on), in the federation lab:
# "mallory" of peer.test posts Notes with attachments and sets an avatar;
# the peer serves the files (/_lab/serve).  Our workers fetch them through
# the same fetcher as federation, after the inbox has processed the
# activity, and serve them from fedi_media_root: a picture is stored (a
# local url, the origin's remote_url, served as a JPEG), an SVG with a
# script disguised as PNG is refused, a file over
# fedi_media_cache_max_size is refused, a private address is refused, a
# host that cannot be reached is tried again a bounded number of times,
# and `fedictl media remove` prunes the copies back to the remote URLs.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use Fedi::Test;
use Fedi::Lab;
use Fedi::Cavage;
use Fedi::Media qw(media_root mkimage slurp);

if (my $why = Fedi::Lab->available()) {
    plan skip_all => $why;
}

my $lab = Fedi::Lab->new();
$lab->host('ours.test');
$lab->host('peer.test');
$lab->start_dns();

my $key = $lab->mallory_key();
$lab->start_peer('peer.test', LAB_ACTOR_PEM => $lab->mallory_pem());

$ENV{FEDI_TEST_LOG_LEVEL} = 'info';

my $media = media_root($lab->dir());

my $t = $lab->instance('ours.test',
    http => "    fedi_media_root $media;\n"
            . "    fedi_media_cache on;\n"
            . "    fedi_media_cache_max_size 100k;\n",
    server => "        location /system/ {\n"
            . "            alias $media/;\n"
            . "            types { image/jpeg jpg; image/png png; }\n"
            . "            default_type application/octet-stream;\n"
            . "            add_header X-Content-Type-Options nosniff always;\n"
            . "        }\n");
my $dir = $t->testdir();

my ($alice) = $t->sign_up('alice');

# the files the peer serves

my %file = (
    'ok.jpg'     => [mkimage($dir, 'ok.jpg', 320, 240, 0, 4), 'image/jpeg'],
    'big.jpg'    => [mkimage($dir, 'big.jpg', 1600, 1200, 0, 40),
                     'image/jpeg'],
    'avatar.png' => [mkimage($dir, 'avatar.png', 100, 100), 'image/png'],
    'evil.png'   => ['<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"'
                     . ' width="10" height="10"><script>alert(document.domain)'
                     . '</script><rect width="10" height="10"/></svg>',
                     'image/png'],
);
cmp_ok(length $file{'ok.jpg'}[0], '<', 100 * 1024, 'ok.jpg is under the cap');
cmp_ok(length $file{'big.jpg'}[0], '>', 100 * 1024, 'big.jpg is over it');

for my $name (sort keys %file) {
    my $r = $lab->https('peer.test', 'POST', "/_lab/serve?path=/media/$name"
                        . "&type=$file{$name}[1]", $file{$name}[0]);
    is($r->{status}, 200, "the peer serves $name") or diag($r->{body});
}

my $r = $lab->https_get('peer.test', '/media/ok.jpg');
is($r->{body}, $file{'ok.jpg'}[0], 'byte for byte');

# the workers say the cache is on as soon as they are connected

sub wait_for {
    my ($sql, $want) = @_;
    my $got;
    for (1 .. 300) {
        ($got) = $t->psql($sql);
        return $got if defined $got && $got eq $want;
        select(undef, undef, undef, 0.1);
    }
    return $got;
}

is(wait_for('SELECT count(*) FROM media_cache_on WHERE until > now()', 1),
   1, 'the cache is on');

# mallory's activities

my $MALLORY = 'https://peer.test/users/mallory';
my $PUBLIC = 'https://www.w3.org/ns/activitystreams#Public';
my $n = 0;

sub deliver {
    my (%a) = @_;
    my $body = Fedi::Test::json_encode({
        '@context' => 'https://www.w3.org/ns/activitystreams',
        id => "$MALLORY/activities/" . ++$n, actor => $MALLORY, %a });
    my $r = $t->post('/inbox', body => $body, headers => Fedi::Cavage::headers(
        key => $key, key_id => "$MALLORY#main-key", path => '/inbox',
        body => $body));
    is($r->{status}, 202, "activity $n delivered") or diag($r->{body});
    return wait_for("SELECT count(*) FROM inbox_activities"
                    . " WHERE uri = '$MALLORY/activities/$n'"
                    . " AND processed_at IS NOT NULL", 1);
}

sub doc {
    my ($url) = @_;
    return { type => 'Document', mediaType => 'image/jpeg', url => $url,
             name => "at $url", width => 320, height => 240 };
}

sub post_note {
    my ($id, @urls) = @_;
    deliver(type => 'Create', object => {
        id => "https://peer.test/notes/$id", type => 'Note',
        attributedTo => $MALLORY, to => [$PUBLIC],
        content => "<p>note $id</p>", attachment => [map { doc($_) } @urls] });
    my ($sid) = $t->psql("SELECT id FROM statuses"
                         . " WHERE uri = 'https://peer.test/notes/$id'");
    return $sid;
}

sub actor {
    my (%o) = @_;
    deliver(type => 'Update', object => {
        id => $MALLORY, type => 'Person', preferredUsername => 'mallory',
        inbox => "$MALLORY/inbox", followers => "$MALLORY/followers",
        publicKey => { id => "$MALLORY#main-key", owner => $MALLORY,
                       publicKeyPem => $key->get_public_key_x509_string() },
        %o });
}

my $s1 = post_note('n1', 'https://peer.test/media/ok.jpg',
              'https://peer.test/media/evil.png',
              'https://peer.test/media/big.jpg',
              'https://127.0.0.1/media/private.jpg');
ok($s1, 'a Note with four attachments');

my $s2 = post_note('n2', 'https://peer.test:8443/media/away.jpg');
ok($s2, 'a Note whose attachment is on a port nobody listens to');

actor(icon => { type => 'Image', url => 'https://peer.test/media/avatar.png' });

# the fetches, off the inbox's path

is(wait_for('SELECT count(*) FROM media_cache_jobs'
            . " WHERE url NOT LIKE '%:8443/%'", 0),
   0, 'the jobs are done');

my $st = $t->get("/api/v1/statuses/$s1", token => $alice)->{json};
my @att = @{ $st->{media_attachments} };
is(scalar @att, 4, 'four attachments');

like($att[0]{url}, qr{^https://ours\.test/system/[0-9a-f]{2}/[0-9a-f]{2}/[0-9a-f]{32}\.jpg$},
     'the picture is ours now');
is($att[0]{remote_url}, 'https://peer.test/media/ok.jpg',
   'remote_url is the origin\'s');
like($att[0]{preview_url}, qr{^https://ours\.test/system/.+\.jpg$},
     'with a preview of ours');
is($att[0]{meta}{original}{width}, 320, 'its width, from the file');
ok($att[0]{blurhash}, 'a blurhash');

(my $path = $att[0]{url}) =~ s{^https://ours\.test}{};
$r = $lab->https_get('ours.test', $path);
is($r->{status}, 200, 'we serve it');
is($r->{headers}{'content-type'}, 'image/jpeg', 'as a JPEG');
like($r->{body}, qr/^\xff\xd8\xff/, 'a JPEG it is');
unlike($r->{body}, qr/FediCam|Secret Model/, 'without the camera metadata');

for my $i (1 .. 3) {
    is($att[$i]{url}, $att[$i]{remote_url},
       "attachment $i is still shown by its remote URL");
}

my $log = $t->error_log();
my $evil = 'https://peer\.test/media/evil\.png';
like($log, qr{caching "$evil"[^\n]*content type is invalid, refused},
     'the SVG disguised as PNG is refused by its bytes')
    or diag(join "\n", grep { /caching/ } split /\n/, $log);
like($log, qr{fetching "https://127\.0\.0\.1/media/private\.jpg": a private address},
     'the private address is refused by the fetcher');
like($log, qr{fetching "https://peer\.test/media/big\.jpg": the response is too large},
     'the file over fedi_media_cache_max_size is refused');
unlike($log, qr{fetching "https://peer\.test/media/(?:ok|evil)\.},
       'those two were fetched all right');

my @files = glob("$media/*/*/*");
is(scalar @files, 3, 'three files on disk: the picture, its preview, the '
                     . 'avatar (nothing of the SVG)')
    or diag(explain(\@files));
ok(!(grep { slurp($_) =~ /<script/ } @files), 'no file holds the script');

# the avatar

my ($mallory_id) = $t->psql("SELECT id FROM accounts WHERE uri = '$MALLORY'");
my $acct = $t->get("/api/v1/accounts/$mallory_id", token => $alice)->{json};
like($acct->{avatar}, qr{^https://ours\.test/system/.+\.png$},
     'the avatar is ours') or diag(explain($acct));
(my $apath = $acct->{avatar}) =~ s{^https://ours\.test}{};
$r = $lab->https_get('ours.test', $apath);
is($r->{headers}{'content-type'}, 'image/png', 'served as a PNG');
like($r->{body}, qr/^\x89PNG/, 'a PNG it is');

# retries: the unreachable one is tried again later, a bounded number of
# times

my ($attempts, $later) = split /\|/, ($t->psql(
    "SELECT attempts || '|' || (next_at > now()) FROM media_cache_jobs"))[0]
    // '';
is($attempts, 1, 'the unreachable file was tried once');
is($later, 'true', 'and will be again later')
    or diag($t->psql('SELECT * FROM media_cache_jobs'));

$t->psql("UPDATE media_cache_jobs SET next_at = now(); NOTIFY fedi_media_cache");
is(wait_for('SELECT attempts FROM media_cache_jobs', 2), 2,
   'tried again when due');
$t->psql("UPDATE media_cache_jobs SET next_at = now(), attempts = 4;"
         . " NOTIFY fedi_media_cache");
is(wait_for('SELECT count(*) FROM media_cache_jobs', 0), 0,
   'given up after the fifth attempt');
$st = $t->get("/api/v1/statuses/$s2", token => $alice)->{json};
is($st->{media_attachments}[0]{url},
   'https://peer.test:8443/media/away.jpg', 'shown by its remote URL');

# a new avatar: the old copy goes, the new one comes

$lab->https('peer.test', 'POST', '/_lab/serve?path=/media/avatar2.png'
            . '&type=image/png', mkimage($dir, 'avatar2.png', 120, 120));
actor(icon => { type => 'Image', url => 'https://peer.test/media/avatar2.png' });
is(wait_for('SELECT count(*) FROM media_cache_jobs', 0), 0, 'fetched');
is(wait_for('SELECT count(*) FROM media_cache_trash', 0), 0, 'trash emptied');
$acct = $t->get("/api/v1/accounts/$mallory_id", token => $alice)->{json};
like($acct->{avatar}, qr{^https://ours\.test/system/.+\.png$}, 'ours again');
isnt($acct->{avatar}, "https://ours.test$apath", 'a new file');
ok(!-e "$media/" . ($apath =~ s{^/system/}{}r), 'the old one is gone');

# reject_media: nothing is fetched from the domain any more

$t->psql("INSERT INTO domain_blocks (domain, severity, reject_media)"
         . " VALUES ('peer.test', 'noop', true)");
actor(icon => { type => 'Image', url => 'https://peer.test/media/avatar.png' });
is(($t->psql('SELECT count(*) FROM media_cache_jobs'))[0], 0,
   'no job for a domain blocked with reject_media');
$t->psql("DELETE FROM domain_blocks WHERE domain = 'peer.test'");

# fedictl media remove: the copies go, the remote URLs come back

my $out = `$Fedi::Test::TOP/build/fedictl --db '${\ $t->conninfo()}' media remove --days 0 --root $media 2>&1`;
is($?, 0, 'fedictl media remove --days 0') or diag($out);
like($out, qr/removed 1 cached remote attachments \(2 files\)/,
     'one attachment, two files');

$st = $t->get("/api/v1/statuses/$s1", token => $alice)->{json};
is($st->{media_attachments}[0]{url}, 'https://peer.test/media/ok.jpg',
   'the attachment is shown by its remote URL again');
is($st->{media_attachments}[0]{remote_url}, 'https://peer.test/media/ok.jpg',
   'remote_url as before');
ok(!-e "$media/" . ($path =~ s{^/system/}{}r), 'its file is gone');

$t->done_testing();
