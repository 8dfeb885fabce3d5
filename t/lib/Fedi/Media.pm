package Fedi::Media;

# What the media tests share: a media root the workers may write, the
# test picture maker (t/media/mkimage.c, built against libvips) and
# reading a file's bytes.

use strict;
use warnings;

use Carp;
use Exporter 'import';
use FindBin;

our @EXPORT_OK = qw(media_root mkimage slurp);

# $dir/media, writable by nginx's workers (nobody)
sub media_root {
    my ($dir) = @_;
    my $media = "$dir/media";
    mkdir $media or croak "mkdir $media: $!";
    chmod 0777, $media;
    return $media;
}

# mkimage($dir, $name, @args): the picture $dir/$name made (see
# t/media/mkimage.c for the arguments), its bytes returned
sub mkimage {
    my ($dir, $name, @args) = @_;
    my $tool = "$dir/mkimage";

    unless (-x $tool) {
        system("cc -o $tool $FindBin::Bin/media/mkimage.c "
               . "\$(pkg-config --cflags --libs vips)") == 0
            or croak 'cannot build t/media/mkimage.c';
    }

    system($tool, "$dir/$name", @args) == 0 or croak "mkimage $name failed";
    return slurp("$dir/$name");
}

sub slurp {
    my ($f) = @_;
    open(my $fh, '<:raw', $f) or croak "$f: $!";
    local $/;
    return <$fh>;
}

1;
