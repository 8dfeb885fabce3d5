#!/usr/bin/perl

# Custom thumbnails, as Mastodon takes them: a "thumbnail" part on
# POST /api/v1/media, /api/v2/media and PUT /api/v1/media/:id, a picture
# only (its type from its bytes), processed like a preview (640 x 360
# pixels at most, metadata stripped) and shown as the preview_url; the
# Note's Document carries it as its icon.  The one it replaces, and the
# thumbnail of deleted media, are removed.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use File::Find;
use Test::More;
use Fedi::Test qw(multipart);
use Fedi::Media qw(media_root mkimage slurp);

plan(skip_all => 'no ffmpeg') unless -x '/usr/bin/ffmpeg';

my $t = Fedi::Test->new(app_name => 'media');
my $dir = $t->testdir();
my $media = media_root($dir);

sub picture { mkimage($dir, @_) }

sub ffmpeg {
    my ($name, $args) = @_;
    system("ffmpeg -v error -y $args $dir/$name") == 0 or die "ffmpeg $name";
    return slurp("$dir/$name");
}

my $thumb = picture('thumb.png', 1200, 900);          # 1,080,000 pixels
my $portrait = picture('portrait.jpg', 300, 600);
my $audio = ffmpeg('a.ogg', '-f lavfi -i sine=duration=1 -c:a libvorbis');
my $video = ffmpeg('v.mp4', '-f lavfi -i testsrc=duration=1:size=320x240:rate=10'
                            . ' -f lavfi -i sine=duration=1 -c:v mpeg4 -c:a aac'
                            . ' -shortest');
my $svg = '<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>';

$t->write_default_conf(<<"EOF", <<"EOF");
    fedi_media_root $media;
    client_max_body_size 20m;
EOF
        location /system/ {
            alias $media/;
            types { image/jpeg jpg; image/png png; video/mp4 mp4; audio/mpeg mp3; }
            default_type application/octet-stream;
            add_header X-Content-Type-Options nosniff always;
        }
EOF
$t->run();

my ($alice) = $t->sign_up('alice');
my ($bob) = $t->sign_up('bob');

sub stored {
    my @f;
    find(sub { push @f, $File::Find::name =~ s{^\Q$media\E/}{}r if -f },
         $media);
    return sort @f;
}

sub gone {
    my ($rel) = @_;
    for (1 .. 200) {
        return 1 unless -e "$media/$rel";
        select(undef, undef, undef, 0.05);
    }
    return 0;
}

sub rel { $_[0] =~ m{/system/(.*)$} ? $1 : undef }

# what a served picture is: its type and size, as ffprobe reads them
sub served {
    my ($url) = @_;
    my ($path) = $url =~ m{^https?://[^/]+(/.*)$};
    my $r = $t->get($path);
    open(my $fh, '>:raw', "$dir/served") or die;
    print $fh $r->{body};
    close $fh;
    my $wh = `ffprobe -v error -show_entries stream=width,height -of csv=p=0 $dir/served`;
    chomp $wh;
    return ($r->{status}, $r->{headers}{'content-type'}, $wh, $r->{body});
}

sub upload {
    my ($path, @parts) = @_;
    return $t->post($path, token => $alice, multipart(@parts));
}

# audio with a thumbnail

my $r = upload('/api/v1/media', ['file', $audio, 'a.ogg', 'audio/ogg'],
               ['thumbnail', $thumb, 'cover.png', 'image/png']);
is($r->{status}, 200, 'audio with a thumbnail') or diag($r->{body});
my $a = $r->{json};
is($a->{type}, 'audio', 'is audio');
like($a->{preview_url}, qr{/system/.+\.png$}, 'the thumbnail is its preview');
my ($st, $type, $wh, $body) = served($a->{preview_url});
is($st, 200, 'served');
is($type, 'image/png', 'as a PNG');
my ($w, $h) = split /,/, $wh;
# the width rounded down, the height to the nearest: a row's rounding
ok($w * $h <= 230_400 + $w && $w * $h > 200_000,
   "scaled to Mastodon's 640x360 pixels ($wh)");
is(sprintf('%.2f', $w / $h), '1.33', 'its aspect kept');
unlike($body, qr/FediCam|Secret Model/, 'without its metadata');

$r = upload('/api/v1/media', ['file', $audio, 'a.ogg', 'audio/ogg']);
is($r->{json}{preview_url}, undef, 'the same audio without one: no preview');

# video: the thumbnail instead of the first frame (v2)

$r = upload('/api/v2/media', ['file', $video, 'v.mp4', 'video/mp4'],
            ['thumbnail', $portrait, 'p.jpg', 'image/jpeg']);
ok($r->{status} == 200 || $r->{status} == 202, 'video with a thumbnail, v2')
    or diag($r->{body});
my $v = $r->{json};
for (1 .. 100) {
    last if $r->{status} == 200;
    select(undef, undef, undef, 0.1);
    $r = $t->get("/api/v1/media/$v->{id}", token => $alice);
}
is($r->{status}, 200, 'processed');
$v = $r->{json};
is($v->{type}, 'video', 'a video');
(undef, $type, $wh) = served($v->{preview_url});
is($type, 'image/jpeg', 'its preview is a JPEG');
is($wh, '300,600', 'the portrait thumbnail, not the 320x240 first frame');

# refused: a thumbnail that is no picture, nothing left behind

my @before = stored();
for my $bad (['an audio file', $audio, 'x.png', 'image/png'],
             ['an SVG with a script', $svg, 'x.png', 'image/png'],
             ['a video', $video, 'x.jpg', 'image/jpeg']) {
    my ($what, @part) = @$bad;
    $r = upload('/api/v1/media', ['file', $audio, 'a.ogg', 'audio/ogg'],
                ['thumbnail', @part]);
    is($r->{status}, 422, "$what as a thumbnail: 422");
    is($r->{json}{error}, 'Validation failed: Thumbnail content type is invalid',
       'as Mastodon says it');
}
is_deeply([stored()], \@before, 'and no file was stored');

# PUT: a new thumbnail replaces the old one, with the description

my $old = rel($a->{preview_url});
$r = $t->put("/api/v1/media/$a->{id}", token => $alice,
             multipart(['thumbnail', $portrait, 'p.jpg', 'image/jpeg'],
                       ['description', 'a sine']));
is($r->{status}, 200, 'PUT with a thumbnail')
    or diag($r->{body}, grep { /\[(error|crit|alert)\]/ } split /\n/, $t->error_log());
like($r->{json}{preview_url}, qr{/system/.+\.jpg$}, 'the new thumbnail');
is($r->{json}{description}, 'a sine', 'and the description');
ok(gone($old), 'the old thumbnail is removed');
$a = $r->{json};

$r = $t->put("/api/v1/media/$a->{id}", token => $alice,
             multipart(['thumbnail', $svg, 'p.png', 'image/png']));
is($r->{status}, 422, 'PUT with an SVG: 422');
is($t->get("/api/v1/media/$a->{id}", token => $alice)->{json}{preview_url},
   $a->{preview_url}, 'the thumbnail is unchanged');

@before = stored();
$r = $t->put("/api/v1/media/$a->{id}", token => $bob,
             multipart(['thumbnail', $portrait, 'p.jpg', 'image/jpeg']));
is($r->{status}, 404, 'PUT on someone else\'s media: 404');
for (1 .. 50) {
    my @now = stored();
    last if @now == @before;
    select(undef, undef, undef, 0.05);
}
is_deeply([stored()], \@before, 'and the thumbnail made for it is removed');

# the status and its Note

$r = $t->post('/api/v1/statuses', token => $alice,
              json => { status => 'listen', media_ids => [$a->{id}] });
is($r->{status}, 200, 'posted with the audio');
my $sid = $r->{json}{id};
is($r->{json}{media_attachments}[0]{preview_url}, $a->{preview_url},
   'the status shows the thumbnail');

$r = $t->get("/users/alice/statuses/$sid",
             headers => { Accept => 'application/activity+json' });
my $doc = $r->{json}{attachment}[0];
is($doc->{icon}{type}, 'Image', 'the Document has an icon');
is($doc->{icon}{url}, $a->{preview_url}, 'the thumbnail');
is($doc->{icon}{mediaType}, 'image/jpeg', 'with its type');

$r = $t->put("/api/v1/media/$a->{id}", token => $alice,
             multipart(['thumbnail', $thumb, 'c.png', 'image/png']));
is($r->{status}, 404, 'attached: a PUT no longer changes it');

my $thumb_file = rel($a->{preview_url});
$r = $t->delete("/api/v1/statuses/$sid?delete_media=true", token => $alice);
is($r->{status}, 200, 'the status deleted with its media');
ok(gone($thumb_file), 'the thumbnail went with it');

# DELETE of unattached media takes its thumbnail

$thumb_file = rel($v->{preview_url});
$r = $t->delete("/api/v1/media/$v->{id}", token => $alice);
is($r->{status}, 200, 'media deleted');
ok(gone($thumb_file), 'its thumbnail too');

$t->done_testing();
