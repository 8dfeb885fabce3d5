#!/usr/bin/perl

# Media: uploads (v1 and v2, multipart, from nginx's temporary file),
# processing (orientation, metadata stripped, small preview, meta,
# blurhash), the files served by nginx with their headers, GET/PUT/DELETE
# of an upload, attaching to statuses (and the only_media timelines),
# delete_media, avatars and headers, hostile files, and masto.js
# uploading and polling as Mastodon apps do.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Compress::Zlib qw(crc32 compress);
use File::Find;
use Test::More;
use Time::HiRes qw(sleep);
use Fedi::Test qw(multipart);

my $t = Fedi::Test->new(app_name => 'media');
my $dir = $t->testdir();
my $media = "$dir/media";
mkdir $media or die "mkdir $media: $!";
chmod 0777, $media;         # nginx's workers (nobody) write there

# the test pictures, made by libvips
my $mk = "$dir/mkimage";
system("cc -o $mk $FindBin::Bin/media/mkimage.c "
       . "\$(pkg-config --cflags --libs vips)") == 0
    or die "cannot build t/media/mkimage.c";

sub picture {
    my ($name, @args) = @_;
    system($mk, "$dir/$name", @args) == 0 or die "mkimage $name failed";
    return slurp("$dir/$name");
}

sub slurp {
    my ($f) = @_;
    open(my $fh, '<:raw', $f) or die "$f: $!";
    local $/;
    return <$fh>;
}

my $rotated = picture('rotated.jpg', 640, 480, 6);    # EXIF: turn right
my $big = picture('big.jpg', 1600, 1200);
my $png = picture('avatar.png', 800, 600);
my $wide = picture('header.png', 1800, 600, 0, 2);

sub server_conf {
    my ($http_extra) = @_;
    $t->write_default_conf(<<"EOF", <<"EOF");
    fedi_media_root $media;
    client_max_body_size 120m;
$http_extra
EOF
        location /system/ {
            alias $media/;
            expires max;
            types {
                image/jpeg jpg;
                image/png png;
                image/webp webp;
                video/mp4 mp4;
                audio/mpeg mp3;
            }
            default_type application/octet-stream;
            add_header X-Content-Type-Options nosniff always;
            add_header Content-Security-Policy "default-src 'none'; sandbox" always;
        }
EOF
}

server_conf('');
$t->run();

my ($alice, $alice_id) = $t->sign_up('alice');
my ($bob, $bob_id) = $t->sign_up('bob');

sub upload {
    my ($token, $bytes, %o) = @_;
    my $path = $o{path} // '/api/v1/media';
    my @extra = map { [$_, $o{fields}{$_}] } sort keys %{ $o{fields} // {} };
    return $t->post($path, token => $token,
        multipart(['file', $bytes, $o{filename} // 'picture.jpg',
                   $o{type} // 'image/jpeg'], @extra));
}

# every file under the media root, relative
sub stored {
    my @f;
    find(sub { push @f, $File::Find::name =~ s{^\Q$media\E/}{}r if -f }, $media);
    return sort @f;
}

# files are removed on the thread pool, after the answer: wait for it
sub gone {
    my ($path) = @_;
    for (1 .. 200) {
        return 1 unless -e $path;
        sleep 0.05;
    }
    return 0;
}

sub local_path {
    my ($url) = @_;
    return $url =~ m{/system/(.*)$} ? $1 : undef;
}

sub fetch {
    my ($url) = @_;
    my ($path) = $url =~ m{^https?://[^/]+(/.*)$};
    return $t->get($path);
}

# the instance says what it takes

my $inst = $t->get('/api/v2/instance')->{json}{configuration}{media_attachments};
is($inst->{image_size_limit}, 16 * 1024 * 1024, 'instance: the image size limit');
my %types = map { $_ => 1 } @{ $inst->{supported_mime_types} };
ok($types{'image/jpeg'} && $types{'image/png'} && $types{'image/gif'}
   && $types{'image/webp'} && $types{'video/mp4'} && $types{'audio/mpeg'},
   'instance: the types it takes');
ok(!$types{'image/heic'} && !$types{'video/x-ms-asf'},
   'and none it does not');

# v1: processed before the answer

my $r = upload($alice, $rotated, fields => {
    description => 'A test picture', focus => '-0.5,0.25' });
is($r->{status}, 200, 'v1 upload: 200') or diag($r->{body});
my $m = $r->{json};
like($m->{id}, qr/^\d+$/, 'an id, as a string');
is($m->{type}, 'image', 'an image');
like($m->{url}, qr{^http://[^/]+/system/[0-9a-f]{2}/[0-9a-f]{2}/[0-9a-f]{32}\.jpg$},
     'the url: unguessable, under the media URL');
like($m->{preview_url}, qr{/system/.*-small\.jpg$}, 'a preview url');
is($m->{remote_url}, undef, 'no remote url');
is($m->{description}, 'A test picture', 'the description');
is_deeply($m->{meta}{original}, { width => 480, height => 640,
          size => '480x640', aspect => 0.75 },
          'meta.original: the orientation applied (640x480 turned right)');
is($m->{meta}{small}{width} * $m->{meta}{small}{height} <= 230400 ? 1 : 0, 1,
   'meta.small within the preview size');
is_deeply($m->{meta}{focus}, { x => -0.5, y => 0.25 }, 'meta.focus');
like($m->{blurhash}, qr/^[0-9A-Za-z#\$%*+,\-.:;=?\@\[\]^_{|}~]{36}$/,
     'a 4x4 blurhash');

# the file, as nginx serves it

my $f = fetch($m->{url});
is($f->{status}, 200, 'the original is served');
is($f->{headers}{'content-type'}, 'image/jpeg', 'with the stored type');
is($f->{headers}{'x-content-type-options'}, 'nosniff', 'nosniff');
like($f->{headers}{'content-security-policy'}, qr/default-src 'none'/,
     'a restrictive Content-Security-Policy');
like($f->{headers}{'cache-control'}, qr/max-age=\d{6,}/, 'cached for long');
is(substr($f->{body}, 0, 3), "\xff\xd8\xff", 'a JPEG');
unlike($f->{body}, qr/FediCam|Secret Model|Exif/, 'EXIF stripped');
ok(length($f->{body}) > 1000, 'not empty');
is(fetch($m->{preview_url})->{status}, 200, 'the preview is served');

# GET and PUT of an upload

$r = $t->get("/api/v1/media/$m->{id}", token => $alice);
is($r->{status}, 200, 'GET: processed, 200');
is($r->{json}{url}, $m->{url}, 'the same url');
is($t->get("/api/v1/media/$m->{id}", token => $bob)->{status}, 404,
   "GET: not someone else's");

$r = $t->put("/api/v1/media/$m->{id}", token => $alice,
             form => { description => 'Changed', focus => '0.1,0.9' });
is($r->{status}, 200, 'PUT: 200');
is($r->{json}{description}, 'Changed', 'PUT: the description');
is_deeply($r->{json}{meta}{focus}, { x => 0.1, y => 0.9 }, 'PUT: the focus');
is($r->{json}{meta}{original}{width}, 480, 'PUT: meta kept');

$r = $t->put("/api/v1/media/$m->{id}", token => $alice,
             multipart(['description', 'From multipart']));
is($r->{json}{description}, 'From multipart', 'PUT: multipart fields too');

is($t->put("/api/v1/media/$m->{id}", token => $bob,
           form => { description => 'x' })->{status}, 404,
   "PUT: not someone else's");

# a large one: the original capped, like Mastodon, at 3840x2160's pixels
# only when larger; 1600x1200 stays

$r = upload($alice, $big, path => '/api/v2/media');
is($r->{status}, 200, 'v2 upload processed within fedi_media_wait: 200');
is($r->{json}{meta}{original}{size}, '1600x1200', 'its size');
ok($r->{json}{meta}{small}{width} < 1600, 'a smaller preview');
my $big_id = $r->{json}{id};

# 206 while processing (a row the way a running upload leaves it)

my $pending = $t->psql("INSERT INTO media_attachments (account_id, type)"
                       . " VALUES ($alice_id, 'image') RETURNING id");
$pending =~ s/\s+//g;
$r = $t->get("/api/v1/media/$pending", token => $alice);
is($r->{status}, 206, 'GET while processing: 206');
is($r->{json}{url}, undef, 'no url yet');

# attaching

$r = $t->post('/api/v1/statuses', token => $alice,
              json => { status => 'pictures', media_ids => [$m->{id}, $big_id] });
is($r->{status}, 200, 'a status with two attachments') or diag($r->{body});
my $st = $r->{json};
is_deeply([ map { $_->{id} } @{ $st->{media_attachments} } ], [$m->{id}, $big_id],
          'attached in order');
is($st->{media_attachments}[0]{description}, 'From multipart',
   'rendered like MediaAttachment');
is($st->{media_attachments}[0]{url}, $m->{url}, 'with its url');

$r = $t->get("/api/v1/statuses/$st->{id}");
is(scalar @{ $r->{json}{media_attachments} }, 2, 'read back');
is($t->get("/api/v1/media/$m->{id}", token => $alice)->{status}, 404,
   'attached media is no longer an upload');

# federated: the Note carries the attachments as Documents

my $note = $t->get("/users/alice/statuses/$st->{id}",
                   headers => [Accept => 'application/activity+json'])->{json};
is(scalar @{ $note->{attachment} }, 2, 'the Note has both attachments');
my $doc = $note->{attachment}[0];
is($doc->{type}, 'Document', 'a Document');
is($doc->{mediaType}, 'image/jpeg', 'its mediaType');
is($doc->{url}, $m->{url}, 'its url');
is($doc->{name}, 'From multipart', 'its name: the description');
is($doc->{blurhash}, $m->{blurhash}, 'its blurhash');
is_deeply($doc->{focalPoint}, [0.1, 0.9], 'its focalPoint');
is("$doc->{width}x$doc->{height}", '480x640', 'its width and height');
ok(!exists $note->{attachment}[1]{focalPoint}, 'no focalPoint when none set');

$r = $t->post('/api/v1/statuses', token => $alice,
              json => { status => 'again', media_ids => [$m->{id}] });
is($r->{status}, 422, 'media attached elsewhere: 422');
like($r->{json}{error}, qr/Validation failed/, 'a validation error');

$r = $t->post('/api/v1/statuses', token => $alice,
              json => { status => 'pending', media_ids => [$pending] });
is($r->{status}, 422, 'unprocessed media: 422');

my $bobs = upload($bob, $rotated)->{json}{id};
$r = $t->post('/api/v1/statuses', token => $alice,
              json => { status => 'stolen', media_ids => [$bobs] });
is($r->{status}, 422, "someone else's media: 422");

$r = $t->post('/api/v1/statuses', token => $alice,
              json => { media_ids => [1, 2, 3, 4, 5] });
is($r->{status}, 422, 'five attachments: 422');
is($t->get("/api/v1/accounts/$alice_id")->{json}{statuses_count}, 1,
   'refused posts left nothing');

my $solo = upload($alice, $png, filename => 'a.png', type => 'image/png')->{json};
$r = $t->post('/api/v1/statuses', token => $alice,
              form => { 'media_ids[]' => $solo->{id} });
is($r->{status}, 200, 'media alone make a status');
is($r->{json}{media_attachments}[0]{url} =~ /\.png$/ ? 1 : 0, 1,
   'a PNG stays a PNG');
my $solo_status = $r->{json}{id};

$t->post('/api/v1/statuses', token => $alice, json => { status => 'text only' });

my @ids = map { $_->{id} }
          @{ $t->get('/api/v1/timelines/public?only_media=true')->{json} };
is_deeply([sort @ids], [sort($st->{id}, $solo_status)],
          'public timeline: only_media');
@ids = map { $_->{id} }
       @{ $t->get("/api/v1/accounts/$alice_id/statuses?only_media=1")->{json} };
is_deeply([sort @ids], [sort($st->{id}, $solo_status)],
          'account statuses: only_media');
is(scalar @{ $t->get("/api/v1/accounts/$alice_id/statuses")->{json} }, 3,
   'all of them without');

# editing replaces the attachments

my $third = upload($alice, $png, filename => 'b.png', type => 'image/png')->{json};
$r = $t->put("/api/v1/statuses/$st->{id}", token => $alice,
             json => { status => 'edited', media_ids => [$third->{id}] });
is($r->{status}, 200, 'edited with other media');
is_deeply([ map { $_->{id} } @{ $r->{json}{media_attachments} } ], [$third->{id}],
          'the attachments replaced');
is($t->get("/api/v1/media/$big_id", token => $alice)->{status}, 200,
   'the one left out is an upload again');
$r = $t->put("/api/v1/statuses/$st->{id}", token => $alice,
             json => { status => 'edited', media_ids => [] });
is(scalar @{ $r->{json}{media_attachments} }, 0,
   'an empty media_ids takes them all away');
$r = $t->put("/api/v1/statuses/$st->{id}", token => $alice,
             json => { status => 'edited', media_ids => [$third->{id}] });
is(scalar @{ $r->{json}{media_attachments} }, 1, 'and back');
$r = $t->put("/api/v1/statuses/$st->{id}", token => $alice,
             json => { status => 'edited again' });
is(scalar @{ $r->{json}{media_attachments} }, 1,
   'an edit without media_ids keeps them');

# deleting: delete_media removes the files; without, the media is kept
# for a redraft

my @files = map { local_path($_) } $third->{url}, $third->{preview_url};
ok(-f "$media/$files[0]" && -f "$media/$files[1]", 'the files are there');
$r = $t->delete("/api/v1/statuses/$st->{id}?delete_media=true", token => $alice);
is($r->{status}, 200, 'deleted with delete_media');
is(scalar @{ $r->{json}{media_attachments} }, 1, 'the answer shows the media');
ok(gone("$media/$files[0]") && gone("$media/$files[1]"), 'its files are gone');

$r = $t->delete("/api/v1/statuses/$solo_status", token => $alice);
is($r->{status}, 200, 'deleted without delete_media');
is($t->get("/api/v1/media/$solo->{id}", token => $alice)->{status}, 200,
   'the media stays, to redraft with');
ok(-f "$media/" . local_path($solo->{url}), 'and its file');

$r = $t->delete("/api/v1/media/$solo->{id}", token => $alice);
is($r->{status}, 200, 'DELETE /api/v1/media/:id');
ok(gone("$media/" . local_path($solo->{url})), 'removes the file');

# avatar and header

$r = $t->patch('/api/v1/accounts/update_credentials', token => $alice,
    multipart(['display_name', 'Alice Pictured'],
              ['avatar', $png, 'me.png', 'image/png'],
              ['header', $wide, 'header.png', 'image/png']));
is($r->{status}, 200, 'update_credentials with avatar and header')
    or diag($r->{body});
is($r->{json}{display_name}, 'Alice Pictured', 'and the other fields');
like($r->{json}{avatar}, qr{/system/[0-9a-f/]+\.png$}, 'the avatar url');
like($r->{json}{header}, qr{/system/[0-9a-f/]+\.png$}, 'the header url');
my $avatar = $r->{json}{avatar};
$f = fetch($avatar);
is($f->{status}, 200, 'the avatar is served');
is(unpack('N', substr($f->{body}, 16, 4)) . 'x' . unpack('N', substr($f->{body}, 20, 4)),
   '400x400', 'the avatar is 400x400');
$f = fetch($r->{json}{header});
is(unpack('N', substr($f->{body}, 16, 4)) . 'x' . unpack('N', substr($f->{body}, 20, 4)),
   '1500x500', 'the header is 1500x500');
is($t->get("/api/v1/accounts/$alice_id")->{json}{avatar}, $avatar,
   'the account shows it');

$r = $t->patch('/api/v1/accounts/update_credentials', token => $alice,
    multipart(['avatar', $rotated, 'me.jpg', 'image/jpeg']));
isnt($r->{json}{avatar}, $avatar, 'a new avatar');
ok(gone("$media/" . local_path($avatar)), 'the old avatar file is removed');
$avatar = $r->{json}{avatar};

my @kept = stored();
$r = $t->patch('/api/v1/accounts/update_credentials', token => $alice,
    multipart(['display_name', 'x' x 31],
              ['avatar', $png, 'me.png', 'image/png']));
is($r->{status}, 422, 'update_credentials refused for another field');
my $same = 0;
for (1 .. 200) {
    last if ($same = join(',', stored()) eq join(',', @kept));
    sleep 0.05;
}
ok($same, 'the avatar it stored is removed again');
is($t->get("/api/v1/accounts/$alice_id")->{json}{avatar}, $avatar,
   'the account keeps its avatar');

$r = $t->delete('/api/v1/profile/avatar', token => $alice);
is($r->{status}, 200, 'DELETE /api/v1/profile/avatar');
unlike($r->{json}{avatar}, qr{/system/}, 'the default avatar again');
ok(gone("$media/" . local_path($avatar)), 'the file is removed');
like($r->{json}{header}, qr{/system/}, 'the header stays');
$r = $t->delete('/api/v1/profile/header', token => $alice);
unlike($r->{json}{header}, qr{/system/}, 'DELETE /api/v1/profile/header');

# hostile files: refused with a JSON error, nothing left behind

my @before = stored();

sub refused {
    my ($r, $status, $name) = @_;
    is($r->{status}, $status, "$name: $status");
    ok(defined $r->{json} && defined $r->{json}{error}, "$name: a JSON error")
        or diag($r->{body});
}

my $truncated = substr($rotated, 0, int(length($rotated) / 2));

my $html = "<html><body><script>alert(document.cookie)</script></body></html>\n";
my $svg = qq{<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg">}
        . qq{<script>alert(1)</script></svg>\n};

refused(upload($alice, $html, filename => 'x.png', type => 'image/png'), 422,
        'HTML disguised as a PNG');
refused(upload($alice, $svg, filename => 'x.png', type => 'image/png'), 422,
        'SVG with a script disguised as a PNG');
refused(upload($alice, $truncated), 422, 'a truncated JPEG');
refused(upload($alice, "#EXTM3U\n#EXT-X-MEDIA-SEQUENCE:0\n#EXTINF:10.0,\n"
                       . "file:///etc/passwd\n#EXT-X-ENDLIST\n",
               filename => 'v.mp4', type => 'video/mp4'), 422,
        'an HLS playlist reading a local file, disguised as MP4');
refused(upload($alice, ''), 422, 'zero bytes');

# a 50,000 x 50,000 PNG: a small file, 2.5 gigapixels decoded
sub png_chunk {
    my ($type, $data) = @_;
    return pack('N', length $data) . $type . $data
         . pack('N', crc32($type . $data));
}

my $bomb = "\x89PNG\r\n\x1a\n"
         . png_chunk('IHDR', pack('NNCCCCC', 50000, 50000, 8, 0, 0, 0, 0))
         . png_chunk('IDAT', compress("\0" x 50001))
         . png_chunk('IEND', '');
refused(upload($alice, $bomb, filename => 'bomb.png', type => 'image/png'),
        422, 'a 50,000 x 50,000 PNG');

my $over = "\x89PNG\r\n\x1a\n"
         . png_chunk('IHDR', pack('NNCCCCC', 8000, 4200, 8, 0, 0, 0, 0))
         . png_chunk('IDAT', compress("\0" x 8001))
         . png_chunk('IEND', '');
refused(upload($alice, $over, filename => 'over.png', type => 'image/png'),
        422, 'a PNG over image_matrix_limit (8000 x 4200)');

refused(upload($alice, "\xff\xd8\xff" . ("x" x (17 * 1024 * 1024))), 422,
        'over the image size limit');

$r = upload($alice, "\0" x (100 * 1024 * 1024), filename => 'huge.jpg');
refused($r, 413, 'a 100 MB upload');

$r = $t->post('/api/v1/media', token => $alice,
              multipart(['description', 'no file']));
refused($r, 422, 'no file at all');

is_deeply([stored()], \@before, 'no stray files in the media root');
my @temp = glob("$dir/client_body_temp/*/* $dir/client_body_temp/*");
is(scalar(grep { -f } @temp), 0, 'no request bodies left behind');

# a file name with ../ is only a name: stored under ours

$r = upload($alice, $png, filename => '../../../evil.png', type => 'image/png');
is($r->{status}, 200, 'a ../ file name: stored');
unlike($r->{json}{url}, qr/evil|\.\./, 'under a name of ours');
my @evil;
find(sub { push @evil, $File::Find::name if /evil/ }, $dir);
is(scalar @evil, 0, 'no file by that name anywhere');

# a GIF: its first frame, as a PNG

my $gif = picture('anim.gif', 300, 200);
$r = upload($alice, $gif, filename => 'a.gif', type => 'image/gif');
is($r->{status}, 200, 'a GIF');
like($r->{json}{url}, qr/\.png$/, 'stored as a PNG');
is(substr(fetch($r->{json}{url})->{body}, 0, 4), "\x89PNG", 'and is one');

# video, audio and animated GIFs, through ffmpeg

SKIP: {
    skip 'no ffmpeg', 24 unless -x '/usr/bin/ffmpeg';

    my $ff = "ffmpeg -v error -y -f lavfi -i testsrc=duration=1:size=320x240:rate=10";
    system("$ff -f lavfi -i sine=duration=1 -shortest -metadata title=SecretTitle"
           . " -c:v mpeg4 $dir/v.mp4") == 0 or die 'ffmpeg';
    system("$ff -c:v mpeg4 $dir/silent.mp4") == 0 or die 'ffmpeg';
    system("ffmpeg -v error -y -f lavfi -i testsrc=duration=1:size=160x120:rate=5"
           . " $dir/anim.gif") == 0 or die 'ffmpeg';
    system("ffmpeg -v error -y -f lavfi -i sine=duration=1 -metadata artist=Someone"
           . " -c:a libvorbis $dir/a.ogg") == 0 or die 'ffmpeg';
    system("ffmpeg -v error -y -f lavfi -i testsrc=duration=0.1:size=3900x2200:rate=10"
           . " -c:v mpeg4 $dir/huge.mp4") == 0 or die 'ffmpeg';

    $r = upload($alice, slurp("$dir/v.mp4"), filename => 'v.mp4', type => 'video/mp4');
    is($r->{status}, 200, 'a video') or diag($r->{body});
    is($r->{json}{type}, 'video', 'type video');
    like($r->{json}{url}, qr{/system/[0-9a-f/]+\.mp4$}, 'stored as MP4');
    like($r->{json}{preview_url}, qr{-small\.jpg$}, 'a preview from its first frame');
    is($r->{json}{meta}{original}{width} . 'x' . $r->{json}{meta}{original}{height},
       '320x240', 'meta: its size');
    is($r->{json}{meta}{original}{frame_rate}, '10/1', 'meta: its frame rate');
    ok(abs($r->{json}{meta}{original}{duration} - 1) < 0.2, 'meta: its duration');
    like($r->{json}{blurhash}, qr/^.{36}$/, 'a blurhash');
    $f = fetch($r->{json}{url});
    is($f->{headers}{'content-type'}, 'video/mp4', 'served as video/mp4');
    unlike($f->{body}, qr/SecretTitle/, 'its metadata removed');
    like(substr($f->{body}, 0, 64), qr/ftyp/, 'an MP4');

    $r = upload($alice, slurp("$dir/silent.mp4"), filename => 's.mp4', type => 'video/mp4');
    is($r->{json}{type}, 'gifv', 'a video without sound is a gifv')
        or diag($r->{body});

    $r = upload($alice, slurp("$dir/anim.gif"), filename => 'a.gif', type => 'image/gif');
    is($r->{status}, 200, 'an animated GIF');
    is($r->{json}{type}, 'gifv', 'is a gifv');
    like($r->{json}{url}, qr/\.mp4$/, 'stored as MP4');

    $r = upload($alice, slurp("$dir/a.ogg"), filename => 'a.ogg', type => 'audio/ogg');
    is($r->{status}, 200, 'audio') or diag($r->{body});
    is($r->{json}{type}, 'audio', 'type audio');
    like($r->{json}{url}, qr/\.mp3$/, 'stored as MP3');
    is($r->{json}{preview_url}, undef, 'no preview');
    ok(abs(($r->{json}{meta}{original}{duration} // 0) - 1) < 0.2,
       'meta: its duration');
    $f = fetch($r->{json}{url});
    is($f->{headers}{'content-type'}, 'audio/mpeg', 'served as audio/mpeg');
    unlike($f->{body}, qr/Someone/, 'its metadata removed');

    my @was = stored();
    refused(upload($alice, slurp("$dir/huge.mp4"), filename => 'h.mp4',
                   type => 'video/mp4'), 422, 'a video over the matrix limit');
    is_deeply([stored()], \@was, 'leaves nothing behind');
}

# a client that leaves while its picture is processed: the job finishes
# on its own and records the outcome

{
    my %mp = multipart(['file', $big, 'left.jpg', 'image/jpeg'],
                       ['description', 'abandoned']);
    my $s = $t->connect();
    print $s "POST /api/v1/media HTTP/1.1\r\nHost: " . $t->domain() . "\r\n"
        . "Authorization: Bearer $alice\r\n"
        . "Content-Type: $mp{headers}[1]\r\n"
        . "Content-Length: " . length($mp{body}) . "\r\n\r\n" . $mp{body};
    close $s;
}
my $done = '';
for (1 .. 300) {
    $done = $t->psql("SELECT processed FROM media_attachments"
                     . " WHERE description = 'abandoned'");
    last if $done eq 't';
    sleep 0.1;
}
is($done, 't', 'an abandoned upload is processed all the same');

# fedictl media remove: old unattached uploads and their files

my $old = upload($alice, $png, filename => 'o.png', type => 'image/png')->{json};
my $young = upload($alice, $png, filename => 'y.png', type => 'image/png')->{json};
my $kept = upload($alice, $png, filename => 'k.png', type => 'image/png')->{json};
my $ks = $t->post('/api/v1/statuses', token => $alice,
                  json => { media_ids => [$kept->{id}] })->{json}{id};
$t->psql("UPDATE media_attachments SET created_at = now() - interval '2 days'"
         . " WHERE id IN ($old->{id}, $pending, $kept->{id})");
my $out = `$Fedi::Test::TOP/build/fedictl --db '${\ $t->conninfo()}' media remove --days 1 --root $media 2>&1`;
is($?, 0, 'fedictl media remove') or diag($out);
like($out, qr/removed 2 unattached uploads \(2 files\)/, 'two uploads, two files');
ok(!-e "$media/" . local_path($old->{url}), 'the old upload is gone');
is($t->get("/api/v1/media/$old->{id}", token => $alice)->{status}, 404,
   'and its row');
is($t->get("/api/v1/media/$young->{id}", token => $alice)->{status}, 200,
   'a recent upload stays');
is($t->get("/api/v1/statuses/$ks")->{json}{media_attachments}[0]{id},
   $kept->{id}, 'attached media stay, however old');
ok(-f "$media/" . local_path($kept->{url}), 'with their files');

# v2 in the background (fedi_media_wait 0): 202, then 206/200 by GET

server_conf("    fedi_media_wait 0;\n");
$t->reload();

$r = upload($alice, $big, path => '/api/v2/media');
is($r->{status}, 202, 'v2 upload in the background: 202');
is($r->{json}{url}, undef, 'url null');
my $bg = $r->{json}{id};

my $got;
for (1 .. 300) {
    $got = $t->get("/api/v1/media/$bg", token => $alice);
    last if $got->{status} != 206;
    sleep 0.1;
}
is($got->{status}, 200, 'GET after processing: 200');
like($got->{json}{url}, qr{/system/}, 'with its url');
is(fetch($got->{json}{url})->{status}, 200, 'served');

# masto.js: upload (v2, polling GET), update, attach, avatar

my $node = "$FindBin::Bin/clients/node_modules/.bin/node";
SKIP: {
    skip 't/clients/node_modules is missing', 1 unless -x $node;

    my ($masto) = $t->sign_up('masto');
    my $base = 'http://127.0.0.1:' . $t->port(8080);
    my $out = `cd $FindBin::Bin/clients && $node media.mjs $base $masto $dir/rotated.jpg $dir/avatar.png 2>&1`;
    my $rc = $? >> 8;
    my $n = 0;

    for my $line (split /\n/, $out) {
        if ($line =~ /^(not )?ok \d+ - (.*)$/) {
            ok(!$1, $2);
            $n++;
        }
    }

    is($rc, 0, "masto.js ran $n checks") or diag($out);
}

$t->done_testing();
