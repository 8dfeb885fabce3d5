#!/usr/bin/perl

# Custom emojis, in the federation lab (t/lib/Fedi/Lab.pm): `fedictl emoji
# add|remove|list` (PNG, GIF and WebP of 256 KB at most, stored under the
# media root and served by nginx), GET /api/v1/custom_emojis (listed ones:
# local, enabled, in the picker; cacheable), the emojis of statuses and
# accounts (the :shortcodes: of their text), the Emoji tags of our Notes
# and actor as a Fedify peer reads them, and the Emoji tags the peer
# sends: stored for its domain, shown by their remote URL, https only,
# none from a domain blocked with reject_media.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use File::Find;
use File::Temp qw(tempdir);
use Test::More;
use Fedi::Test;
use Fedi::Lab;

my $why = Fedi::Lab::available();
plan(skip_all => $why) if $why;

my $FEDICTL = "$Fedi::Test::TOP/build/fedictl";
plan(skip_all => "$FEDICTL is missing: run make") unless -x $FEDICTL;

my $lab = Fedi::Lab->new();
$lab->host('ours.test');
$lab->host('peer.test');
$lab->start_dns();
$lab->start_peer('peer.test');

my $media = tempdir('fedi-emoji-XXXXXXXX', TMPDIR => 1, CLEANUP => 1);
chmod 0755, $media;

my $t = $lab->instance('ours.test',
    http => "    fedi_media_root $media;\n",
    server => "        location /system/ {\n"
            . "            alias $media/;\n"
            . "            types { image/png png; image/gif gif;"
            . " image/webp webp; }\n"
            . "        }\n");

my ($alice, $alice_id) = $t->sign_up('alice');

# images: a real 1x1 PNG, a GIF and a WebP by their first bytes
my $png = pack('H*', '89504e470d0a1a0a0000000d4948445200000001000000010806'
                   . '0000001f15c4890000000d49444154789c6300010000050001'
                   . '0d0a2db40000000049454e44ae426082');
my $dir = $t->testdir();

sub file {
    my ($name, $bytes) = @_;
    open(my $fh, '>:raw', "$dir/$name") or die "$name: $!";
    print $fh $bytes;
    close $fh;
    return "$dir/$name";
}

sub fedictl {
    my (@args) = @_;
    local $ENV{FEDI_DB} = $t->conninfo();
    my $out = `$FEDICTL @{[ map { "'$_'" } @args ]} 2>&1`;
    return { rc => $? >> 8, out => $out };
}

sub files {
    my @f;
    find(sub { push @f, $File::Find::name if -f }, $media);
    return @f;
}

# ---- fedictl emoji ----

my $r = fedictl('emoji', 'add', 'blobcat', file('b.png', $png),
                '--root', $media, '--category', 'Blobs');
is($r->{rc}, 0, 'emoji add: done') or diag($r->{out});
like($r->{out}, qr/^added :blobcat: \(\d+\)$/m, 'and says so');
my @stored = files();
is(scalar @stored, 1, 'one file under the media root');
like($stored[0] // '', qr{^\Q$media\E/[0-9a-f]{2}/[0-9a-f]{2}/[0-9a-f]{32}\.png$},
     'named as uploads are: xx/yy/<hex>.png');

$r = fedictl('emoji', 'add', 'blobcat', "$dir/b.png", '--root', $media);
is($r->{rc}, 1, 'the same shortcode again: failed');
like($r->{out}, qr/exists already/, 'it exists already');
is(scalar(files()), 1, 'and no file is left behind');

is(fedictl('emoji', 'add', 'b', "$dir/b.png", '--root', $media)->{rc}, 2,
   'a one-letter shortcode: usage');
is(fedictl('emoji', 'add', 'no-dash', "$dir/b.png", '--root', $media)->{rc},
   2, 'a shortcode with a dash: usage');
is(fedictl('emoji', 'add', 'nowhere', "$dir/b.png")->{rc}, 2,
   'no --root: usage');

$r = fedictl('emoji', 'add', 'texty', file('t.png', "not an image\n"),
             '--root', $media);
is($r->{rc}, 1, 'a text file named .png: failed');
like($r->{out}, qr/not a PNG, GIF or WebP/, 'not an image');

$r = fedictl('emoji', 'add', 'huge',
             file('h.png', $png . ("\0" x (256 * 1024))), '--root', $media);
is($r->{rc}, 1, 'over 256 KB: failed');
like($r->{out}, qr/256 KB/, 'too large');
is(scalar(files()), 1, 'nothing stored for the refused ones');

is(fedictl('emoji', 'add', 'party', file('p.gif', "GIF89a\1\0\1\0\0\0\0;"),
           '--root', $media)->{rc}, 0, 'a GIF');
is(fedictl('emoji', 'add', 'wave',
           file('w.webp', "RIFF\x1a\0\0\0WEBPVP8L\x0d\0\0\0/\0\0\0\x10\x07\x10\x11\x11\x88\x88\xfe\x07\0"),
           '--root', $media)->{rc}, 0, 'a WebP');
$t->psql("UPDATE custom_emojis SET visible_in_picker = false"
         . " WHERE shortcode = 'wave'");

$r = fedictl('emoji', 'list');
is($r->{rc}, 0, 'emoji list');
like($r->{out}, qr/^:blobcat:\tBlobs\tenabled\t[0-9a-f]{2}\/[0-9a-f]{2}\/\S+\.png$/m,
     'lists blobcat, its category and its file');
like($r->{out}, qr/^:party:\t-\tenabled\t\S+\.gif$/m, 'and party');

# ---- GET /api/v1/custom_emojis ----

$r = $t->get('/api/v1/custom_emojis');
is($r->{status}, 200, 'custom_emojis: 200');
is($r->{headers}{'cache-control'}, 'max-age=180, public',
   'public, for three minutes, as Mastodon');
my %e = map { $_->{shortcode} => $_ } @{ $r->{json} // [] };
is_deeply([sort keys %e], ['blobcat', 'party'],
          'the listed ones: not wave, hidden from the picker');
like($e{blobcat}{url} // '',
     qr{^https://ours\.test/system/[0-9a-f]{2}/[0-9a-f]{2}/[0-9a-f]{32}\.png$},
     'url: the file under fedi_media_url');
is($e{blobcat}{static_url}, $e{blobcat}{url}, 'static_url');
is($e{blobcat}{category}, 'Blobs', 'category');
ok(!exists $e{party}{category}, 'no category: none shown, as Mastodon');
ok($e{blobcat}{visible_in_picker}, 'visible_in_picker');

my ($path) = ($e{blobcat}{url} // '') =~ m{^https://ours\.test(/.*)$};
$r = $lab->https_get('ours.test', $path // '/');
is($r->{status}, 200, 'nginx serves the image');
is($r->{body}, $png, 'the very bytes');

# ---- statuses and accounts ----

sub codes { [map { $_->{shortcode} } @{ $_[0]{emojis} // [] }] }

my $st = $t->post('/api/v1/statuses', token => $alice, form => {
    status => 'hi :blobcat: :nope: :party: a:wave:b :wave:' })->{json};
is_deeply(codes($st), ['blobcat', 'party', 'wave'],
          'a status: the emojis its text names (hidden ones too)');
is($st->{emojis}[0]{url}, $e{blobcat}{url}, 'by their URLs');
my $sid = $st->{id};
is_deeply(codes($t->get("/api/v1/statuses/$sid", token => $alice)->{json}),
          ['blobcat', 'party', 'wave'], 'read back the same');

my $me = $t->patch('/api/v1/accounts/update_credentials', token => $alice,
                   form => { display_name => 'Alice :blobcat:',
                             'fields_attributes[0][name]' => 'mood',
                             'fields_attributes[0][value]' => ':party:' })
           ->{json};
is_deeply(codes($me), ['blobcat', 'party'],
          'an account: from its display name and fields');
is_deeply(codes($t->get("/api/v1/accounts/$alice_id")->{json}),
          ['blobcat', 'party'], 'shown to anyone');
is_deeply(codes($t->get("/api/v1/statuses/$sid", token => $alice)
                  ->{json}{account}), ['blobcat', 'party'],
          'and as the author of a status');

my $later = $t->post('/api/v1/statuses', token => $alice,
                     form => { status => 'soon :later:' })->{json};
is_deeply(codes($later), [], 'an emoji not there yet: none');
is(fedictl('emoji', 'add', 'later', "$dir/b.png", '--root', $media)->{rc}, 0,
   'then added');
is_deeply(codes($t->get("/api/v1/statuses/$later->{id}")->{json}), ['later'],
          'and the older status shows it, as Mastodon renders it');

# ---- ActivityPub out, read by Fedify ----

$r = $lab->https_get('ours.test', "/users/alice/statuses/$sid",
                     Accept => 'application/activity+json');
is($r->{status}, 200, 'our Note');
my ($tag) = grep { ($_->{type} // '') eq 'Emoji' && $_->{name} eq ':blobcat:' }
            @{ $r->{json}{tag} // [] };
ok($tag, 'carries an Emoji tag named :blobcat:');
like($tag->{id} // '', qr{^https://ours\.test/emojis/\d+$}, 'its id');
is_deeply($tag->{icon}, { type => 'Image', mediaType => 'image/png',
                          url => $e{blobcat}{url} }, 'its icon');
ok((grep { ref $_ && ($_->{Emoji} // '') eq 'toot:Emoji' }
    @{ $r->{json}{'@context'} // [] }), 'the context defines Emoji');
ok((grep { ($_->{type} // '') eq 'Emoji' && $_->{name} eq ':wave:'
           && $_->{icon}{mediaType} eq 'image/webp' }
    @{ $r->{json}{tag} // [] }), 'each emoji its own type');

# the Emoji's own document, at its id
my ($emoji_path) = ($tag->{id} // '') =~ m{^https://ours\.test(/.*)$};
$r = $lab->https_get('ours.test', $emoji_path // '/emojis/0',
                     Accept => 'application/activity+json');
is($r->{status}, 200, 'the Emoji at its id');
like($r->{headers}{'content-type'} // '', qr{^application/activity\+json},
     'as ActivityPub');
is($r->{headers}{'cache-control'}, 'max-age=180, public', 'public');
is_deeply([@{ $r->{json} }{qw(id type name)}],
          [$tag->{id}, 'Emoji', ':blobcat:'], 'id, type, name');
is_deeply($r->{json}{icon}, $tag->{icon}, 'icon');
like($r->{json}{updated} // '', qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/,
     'updated, in ISO 8601');
is($lab->https_get('ours.test', '/emojis/1')->{status}, 404,
   'an unknown one: 404');
$r = $lab->peer('peer.test', 'lookup', q => $tag->{id});
is($r->{json}{type}, 'Emoji', 'Fedify reads it') or diag($r->{body});

sub finds_emoji {
    my ($doc, $name) = @_;
    return 0 unless ref $doc;
    if (ref $doc eq 'HASH') {
        return 1 if ($doc->{name} // '') eq $name
                    && ($doc->{type} // '') =~ /Emoji$/;
        return grep { finds_emoji($_, $name) } values %$doc;
    }
    return ref $doc eq 'ARRAY' ? grep { finds_emoji($_, $name) } @$doc : 0;
}

$r = $lab->peer('peer.test', 'lookup',
                q => "https://ours.test/users/alice/statuses/$sid");
is($r->{json}{type}, 'Note', 'Fedify reads our Note') or diag($r->{body});
ok(finds_emoji($r->{json}{json}, ':blobcat:'), 'with its Emoji tag');

$r = $lab->https_get('ours.test', '/users/alice',
                     Accept => 'application/activity+json');
ok((grep { ($_->{type} // '') eq 'Emoji' && $_->{name} eq ':party:' }
    @{ $r->{json}{tag} // [] }), 'our actor carries its Emoji tags');
$r = $lab->peer('peer.test', 'lookup', q => 'https://ours.test/users/alice');
is($r->{json}{type}, 'Person', 'Fedify reads our actor');
ok(finds_emoji($r->{json}{json}, ':blobcat:'), 'with its Emoji tags');

# ---- disabled, removed ----

$t->psql("UPDATE custom_emojis SET disabled = true"
         . " WHERE shortcode = 'blobcat'");
ok(!(grep { $_->{shortcode} eq 'blobcat' }
     @{ $t->get('/api/v1/custom_emojis')->{json} }),
   'a disabled emoji is not listed');
is_deeply(codes($t->get("/api/v1/statuses/$sid")->{json}), ['party', 'wave'],
          'nor shown in statuses');
$t->psql("UPDATE custom_emojis SET disabled = false"
         . " WHERE shortcode = 'blobcat'");

my $files = scalar(files());
$r = fedictl('emoji', 'remove', 'party', '--root', $media);
is($r->{rc}, 0, 'emoji remove') or diag($r->{out});
is(scalar(files()), $files - 1, 'its file goes');
is_deeply(codes($t->get("/api/v1/statuses/$sid")->{json}),
          ['blobcat', 'wave'], 'and it from statuses');
is(fedictl('emoji', 'remove', 'party')->{rc}, 1, 'removed twice: failed');

# edited text: found again
$r = $t->put("/api/v1/statuses/$sid", token => $alice,
             form => { status => 'plain now' });
is_deeply(codes($r->{json}), [], 'an edit without them: none');

# ---- ActivityPub in: the peer's Emoji tags ----

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

send_as_bob(what => 'create', id => 'e1',
            content => '<p>hi :blobfox: and :blobcat:</p>',
            emoji => 'blobfox',
            emoji_url => 'https://peer.test/emoji/blobfox.png');
my $e1 = status_of('https://peer.test/notes/e1');
ok($e1, 'a Note with an Emoji tag is a status') or diag($t->error_log());
$r = $t->get("/api/v1/statuses/$e1", token => $alice)->{json};
is_deeply($r->{emojis}, [{ shortcode => 'blobfox',
                           url => 'https://peer.test/emoji/blobfox.png',
                           static_url => 'https://peer.test/emoji/blobfox.png',
                           visible_in_picker => JSON::PP::true }],
          "its emoji, by its remote URL; not our :blobcat:");
is($t->psql("SELECT domain || ' ' || uri FROM custom_emojis"
            . " WHERE shortcode = 'blobfox'"),
   'peer.test https://peer.test/emojis/blobfox', "stored as peer.test's");
ok(!(grep { $_->{shortcode} eq 'blobfox' }
     @{ $t->get('/api/v1/custom_emojis')->{json} }),
   'remote emojis are not listed');

send_as_bob(what => 'update', id => 'e1',
            content => '<p>hi :blobfox: again</p>', emoji => 'blobfox',
            emoji_url => 'https://peer.test/emoji/blobfox2.png');
ok(eventually_ok(sub { ($t->get("/api/v1/statuses/$e1")->{json}{emojis}[0]{url}
                        // '') eq 'https://peer.test/emoji/blobfox2.png' }),
   'an Update brings the new image');

send_as_bob(what => 'create', id => 'e2', content => '<p>:plainfox:</p>',
            emoji => 'plainfox', emoji_url => 'http://peer.test/plain.png');
my $e2 = status_of('https://peer.test/notes/e2');
is_deeply($t->get("/api/v1/statuses/$e2")->{json}{emojis}, [],
          'an emoji over plain http: none');
is($t->psql("SELECT count(*) FROM custom_emojis WHERE shortcode = 'plainfox'"),
   0, 'nothing stored');

send_as_bob(what => 'create', id => 'e3', content => '<p>:bad name:</p>',
            emoji => 'bad name', emoji_url => 'https://peer.test/b.png');
my $e3 = status_of('https://peer.test/notes/e3');
is($t->psql("SELECT count(*) FROM custom_emojis WHERE shortcode LIKE 'bad%'"),
   0, 'a name that is no :shortcode: is refused');

# the actor's
my $bob_id = $t->psql("SELECT id FROM accounts WHERE domain = 'peer.test'"
                      . " AND username = 'bob'");
send_as_bob(what => 'update-actor', name => 'Bob :blobfox:',
            emoji => 'blobfox',
            emoji_url => 'https://peer.test/emoji/blobfox2.png');
ok(eventually_ok(sub {
       @{ $t->get("/api/v1/accounts/$bob_id")->{json}{emojis} // [] } }),
   "the actor's Update: its emojis") or diag($t->error_log());
$r = $t->get("/api/v1/accounts/$bob_id")->{json};
is($r->{display_name}, 'Bob :blobfox:', 'its name');
is_deeply(codes($r), ['blobfox'], 'names blobfox');
is($r->{emojis}[0]{url}, 'https://peer.test/emoji/blobfox2.png',
   'by its remote URL');

# a domain whose media we reject: no emojis from it
is(fedictl('domains', 'block', 'peer.test', '--severity', 'noop',
           '--reject-media')->{rc}, 0, 'peer.test: media rejected');
send_as_bob(what => 'create', id => 'e4', content => '<p>:newfox:</p>',
            emoji => 'newfox', emoji_url => 'https://peer.test/new.png');
my $e4 = status_of('https://peer.test/notes/e4');
ok($e4, 'its Note still arrives');
is_deeply($t->get("/api/v1/statuses/$e4")->{json}{emojis}, [],
          'without its emoji');
is($t->psql("SELECT count(*) FROM custom_emojis WHERE shortcode = 'newfox'"),
   0, 'none stored');

done_testing();
