#!/usr/bin/perl

# Announcements, as Mastodon's: `fedictl announcements add|remove|list`,
# GET /api/v1/announcements (content made from the text: links, hashtags,
# mentions; emojis; read; reactions with count and me), dismissing,
# reactions (a unicode emoji or a local custom emoji, eight names at
# most, one each), and the streaming events announcement,
# announcement.reaction and announcement.delete on every user's user
# stream (not on user:notification).

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use File::Temp qw(tempdir);
use IO::Select;
use Test::More;
use Time::HiRes qw(time);
use Fedi::Test qw(json_decode);

my $FEDICTL = "$Fedi::Test::TOP/build/fedictl";
plan(skip_all => "$FEDICTL is missing: run make") unless -x $FEDICTL;

my $media = tempdir('fedi-ann-XXXXXXXX', TMPDIR => 1, CLEANUP => 1);
chmod 0755, $media;

my $t = Fedi::Test->new();
$t->write_default_conf("    fedi_media_root $media;\n");
$t->run();

my ($alice, $alice_id) = $t->sign_up('alice');
my ($bob, $bob_id) = $t->sign_up('bob');
my $base = 'http://' . $t->domain();

sub fedictl {
    my (@args) = @_;
    local $ENV{FEDI_DB} = $t->conninfo();
    my $out = `$FEDICTL @{[ map { "'$_'" } @args ]} 2>&1`;
    return { rc => $? >> 8, out => $out };
}

my $dir = $t->testdir();
open(my $fh, '>:raw', "$dir/b.png") or die $!;
print $fh pack('H*', '89504e470d0a1a0a0000000d49484452000000010000000108060000'
                   . '001f15c4890000000d49444154789c63000100000500010d0a2db4'
                   . '0000000049454e44ae426082');
close $fh;
is(fedictl('emoji', 'add', 'blobcat', "$dir/b.png", '--root', $media)->{rc},
   0, 'a custom emoji to react with');

# ---- who may ask ----

my $r = $t->get('/api/v1/announcements');
is($r->{status}, 401, 'no token: 401');
$r = $t->get('/api/v1/announcements', token => $t->{app_token});
is($r->{status}, 422, 'an app token: 422');
is($r->{json}{error}, 'This method requires an authenticated user',
   'a user is required, as Mastodon');
$r = $t->get('/api/v1/announcements', token => $alice);
is_deeply([$r->{status}, $r->{json}], [200, []], 'none yet');

# ---- fedictl announcements ----

is(fedictl('announcements', 'add')->{rc}, 2, 'add without text: usage');
is(fedictl('announcements', 'add', 'x', '--starts', '2030-01-01')->{rc}, 2,
   'a start without an end: usage');
$r = fedictl('announcements', 'add', 'x', '--starts', '2030-01-02',
             '--ends', '2030-01-01');
is($r->{rc}, 1, 'an end before its start: failed');
is($t->psql('SELECT count(*) FROM announcements'), 0, 'nothing added');

$r = fedictl('announcements', 'add',
             "Welcome #Fedi, read https://example.test/rules\n\nthanks \@bob :blobcat:");
is($r->{rc}, 0, 'add') or diag($r->{out});
my ($a1) = $r->{out} =~ /^(\d+)$/m;
ok($a1, 'prints its id');

$r = fedictl('announcements', 'add', 'Meetup', '--starts',
             '2030-01-01T00:00:00Z', '--ends', '2030-01-02T00:00:00Z',
             '--all-day');
my ($a2) = $r->{out} =~ /^(\d+)$/m;
ok($a2, 'add one with a span');

$r = fedictl('announcements', 'list');
like($r->{out}, qr/^$a1\t\S+ \S+\t-\tWelcome #Fedi/m, 'list: the first');
like($r->{out}, qr/^$a2\t\S+ \S+\t2030-01-01 00:00\.\.2030-01-02 00:00\tMeetup$/m,
     'list: the second, with its span');

# ---- the list ----

$r = $t->get('/api/v1/announcements', token => $alice);
is($r->{status}, 200, 'announcements: 200');
is_deeply([map { $_->{id} } @{ $r->{json} }], [$a1, $a2],
          'in order: published now, then starting in 2030');
my ($one, $two) = @{ $r->{json} };
like($one->{content}, qr{^<p>Welcome <a href="\Q$base\E/tags/Fedi" class="mention hashtag" rel="tag">#<span>Fedi</span></a>, read <a href="https://example\.test/rules"[^>]*>},
     'content: the text with its hashtag and link');
like($one->{content}, qr{<p>thanks <span class="h-card"[^>]*><a href="\Q$base\E/\@bob" class="u-url mention">\@<span>bob</span></a></span> :blobcat:</p>$},
     'and the mention, linked');
is_deeply($one->{tags}, [{ name => 'fedi', url => "$base/tags/fedi" }],
          'tags');
is_deeply($one->{mentions}, [{ id => $bob_id, username => 'bob',
                               acct => 'bob', url => "$base/\@bob" }],
          'mentions');
is_deeply([map { $_->{shortcode} } @{ $one->{emojis} }], ['blobcat'],
          'emojis');
is_deeply($one->{statuses}, [], 'statuses');
is_deeply($one->{reactions}, [], 'no reactions');
ok(!$one->{read}, 'not read');
is($one->{starts_at}, undef, 'no start');
ok(!$one->{all_day}, 'not all day');
like($one->{published_at}, qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/,
     'published_at');
is($two->{starts_at}, '2030-01-01T00:00:00.000Z', 'starts_at');
is($two->{ends_at}, '2030-01-02T00:00:00.000Z', 'ends_at');
ok($two->{all_day}, 'all_day');

# ---- dismissing ----

$r = $t->post("/api/v1/announcements/$a1/dismiss", token => $alice);
is_deeply([$r->{status}, $r->{json}], [200, {}], 'dismiss: {}');
is($t->post("/api/v1/announcements/$a1/dismiss", token => $alice)->{status},
   200, 'twice: still fine');
ok($t->get('/api/v1/announcements', token => $alice)->{json}[0]{read},
   'read by alice');
ok(!$t->get('/api/v1/announcements', token => $bob)->{json}[0]{read},
   'not by bob');
is($t->post('/api/v1/announcements/1/dismiss', token => $alice)->{status},
   404, 'an unknown one: 404');
is($t->post('/api/v1/announcements/abc/dismiss', token => $alice)->{status},
   404, 'not an id: 404');

# ---- reactions ----

my $thumbs = '%F0%9F%91%8D';
my $react = "/api/v1/announcements/$a1/reactions";

$r = $t->put("$react/$thumbs", token => $alice);
is_deeply([$r->{status}, $r->{json}], [200, {}], 'a unicode emoji: {}');
is($t->put("$react/$thumbs", token => $bob)->{status}, 200, 'bob too');
$r = $t->put("$react/$thumbs", token => $alice);
is_deeply([$r->{status}, $r->{json}{error}], [422, 'Duplicate record'],
          'the same twice: 422');
is($t->put("$react/blobcat", token => $alice)->{status}, 200,
   'a local custom emoji');

sub reactions {
    my ($tok) = @_;
    my ($a) = grep { $_->{id} eq $a1 }
              @{ $t->get('/api/v1/announcements', token => $tok)->{json} };
    return { map { $_->{name} => $_ } @{ $a->{reactions} } };
}

my $rs = reactions($alice);
is_deeply($rs->{"\x{1F44D}"}, { name => "\x{1F44D}", count => 2,
                                me => JSON::PP::true }, 'counted, mine');
is($rs->{blobcat}{count}, 1, 'blobcat once');
like($rs->{blobcat}{url} // '', qr{/system/[0-9a-f]{2}/[0-9a-f]{2}/\w+\.png$},
     'with its url');
is($rs->{blobcat}{static_url}, $rs->{blobcat}{url}, 'and static_url');
ok(!reactions($bob)->{blobcat}{me}, "not bob's");

$r = $t->put("$react/notanemoji", token => $alice);
is_deeply([$r->{status}, $r->{json}{error}],
          [422, 'Validation failed: Name is not a recognized emoji'],
          'a word: 422');
is($t->put("$react/%E2%82%AC", token => $alice)->{status}, 422,
   'a symbol that is no emoji: 422');
is($t->put("$react/%F0%9F%91%8D%F0%9F%8F%BD", token => $alice)->{status},
   200, 'with a skin tone modifier: one emoji');

# eight names at most: two more make eight
for my $e ('%F0%9F%8E%89', '%E2%9D%A4%EF%B8%8F', '%F0%9F%98%80',
           '%F0%9F%A6%8A', '%F0%9F%87%AB%F0%9F%87%B7') {
    is($t->put("$react/$e", token => $alice)->{status}, 200, "reaction $e");
}
$r = $t->put("$react/%F0%9F%90%B1", token => $alice);
is_deeply([$r->{status}, $r->{json}{error}],
          [422, 'Validation failed: Limit of different reactions reached'],
          'a ninth name: 422');
is($t->put("$react/blobcat", token => $bob)->{status}, 200,
   'one of the eight, by another: fine');

$r = $t->delete("$react/$thumbs", token => $alice);
is_deeply([$r->{status}, $r->{json}], [200, {}], 'taken back');
$rs = reactions($alice);
ok(!$rs->{"\x{1F44D}"}{me} && $rs->{"\x{1F44D}"}{count} == 1, 'count 1, not mine');
is($t->delete("$react/$thumbs", token => $alice)->{status}, 404,
   'twice: 404');
is($t->put('/api/v1/announcements/1/reactions/blobcat', token => $alice)
     ->{status}, 404, 'on an unknown one: 404');

# what makes one emoji: a keycap, a flag, a family joined by ZWJ
my $other = "/api/v1/announcements/$a2/reactions";
is($t->put("$other/%31%EF%B8%8F%E2%83%A3", token => $alice)->{status}, 200,
   'a keycap: one emoji');
is($t->put("$other/1", token => $alice)->{status}, 422,
   'a bare digit: none');
is($t->put("$other/%F0%9F%91%A8%E2%80%8D%F0%9F%91%A9%E2%80%8D%F0%9F%91%A7",
           token => $alice)->{status}, 200, 'a ZWJ sequence: one emoji');
is($t->put("$other/%F0%9F%91%8Dx", token => $alice)->{status}, 422,
   'an emoji and a letter: none');
is($t->put("$other/%FF%FE", token => $alice)->{status}, 422,
   'bytes that are no UTF-8: none');
is($t->delete("$other/%FF%FE", token => $alice)->{status}, 404,
   'nor one to take back');

# ---- streaming ----

sub sse_open {
    my ($path, $token) = @_;
    my $s = $t->connect();
    $s->syswrite("GET $path HTTP/1.1\r\nHost: " . $t->domain()
                 . "\r\nAuthorization: Bearer $token\r\n\r\n");
    return { sock => $s, buf => '' };
}

# the events so far: [name, data]
sub sse_take {
    my ($c) = @_;
    my $sel = IO::Select->new($c->{sock});
    while ($sel->can_read(1.5)) {
        last unless $c->{sock}->sysread($c->{buf}, 65536, length $c->{buf});
    }
    my @e;
    push @e, [$1, $2] while $c->{buf} =~ s/event: (\S+)\ndata: (.*)\n\n//;
    return @e;
}

my $sa = sse_open('/api/v1/streaming/user', $alice);
my $sb = sse_open('/api/v1/streaming/user', $bob);
my $sn = sse_open('/api/v1/streaming/user/notification', $bob);
sse_take($_) for $sa, $sb, $sn;

$r = fedictl('announcements', 'add', 'Breaking :blobcat:');
my ($a3) = $r->{out} =~ /^(\d+)$/m;

my @ev = sse_take($sa);
my ($pub) = grep { $_->[0] eq 'announcement' } @ev;
ok($pub, 'announcement on the user stream') or diag(explain \@ev);
my $p = eval { json_decode($pub->[1]) } // {};
is($p->{id}, $a3, 'the new one');
is($p->{content}, '<p>Breaking :blobcat:</p>', 'rendered');
is_deeply([map { $_->{shortcode} } @{ $p->{emojis} }], ['blobcat'],
          'with its emojis');
ok(!exists $p->{read}, 'for no viewer: no read, as Mastodon');
ok((grep { $_->[0] eq 'announcement' } sse_take($sb)),
   "bob's user stream too");

is($t->put("/api/v1/announcements/$a3/reactions/blobcat", token => $bob)
     ->{status}, 200, 'bob reacts');
($pub) = grep { $_->[0] eq 'announcement.reaction' } sse_take($sa);
ok($pub, 'announcement.reaction');
$p = eval { json_decode($pub->[1]) } // {};
is($p->{name}, 'blobcat', 'its name');
is($p->{count}, 1, 'its count');
is($p->{announcement_id}, $a3, 'its announcement');
like($p->{url} // '', qr{/system/.+\.png$}, 'a custom emoji: its url');
ok(!exists $p->{me}, 'no me');

$t->delete("/api/v1/announcements/$a3/reactions/blobcat", token => $bob);
($pub) = grep { $_->[0] eq 'announcement.reaction' } sse_take($sa);
$p = eval { json_decode($pub->[1]) } // {};
is_deeply([$p->{name}, $p->{count}], ['blobcat', 0], 'taken back: count 0');

is(fedictl('announcements', 'remove', $a3)->{rc}, 0, 'remove');
($pub) = grep { $_->[0] eq 'announcement.delete' } sse_take($sa);
is($pub->[1] // '', $a3, 'announcement.delete: its id');
ok((grep { $_->[0] eq 'announcement.delete' } sse_take($sb)), 'to bob too');
is_deeply([sse_take($sn)], [], 'user:notification hears none of it');

ok(!(grep { $_->{id} eq $a3 }
     @{ $t->get('/api/v1/announcements', token => $alice)->{json} }),
   'gone from the list');
is($t->put("/api/v1/announcements/$a3/reactions/blobcat", token => $bob)
     ->{status}, 404, 'no reacting to it');
is(fedictl('announcements', 'remove', $a3)->{rc}, 1, 'removed twice: failed');
is(fedictl('announcements', 'remove', 'abc')->{rc}, 2, 'not an id: usage');

done_testing();
