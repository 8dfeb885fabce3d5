#!/usr/bin/perl

# The instance documents: health, /api/v1 and /api/v2 instance, NodeInfo
# (as megalodon's detector reads it), host-meta, peers, rules, custom
# emojis; fedi_max_characters reaches the instance document.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use Fedi::Test;

my $t = Fedi::Test->new();

my $conf = <<'EOF';
%%TEST_GLOBALS%%

events {
}

http {
    %%TEST_GLOBALS_HTTP%%
    %%EXTRA%%

    server {
        listen       127.0.0.1:%%PORT_8080%%;
        server_name  localhost;

        location / {
            fedi;
        }
    }
}
EOF

$t->write_file_expand('nginx.conf', $conf =~ s/%%EXTRA%%//r);
$t->run()->plan(47);

my $base = 'http://' . $t->domain();

my $r = $t->get('/health');
is($r->{status}, 200, 'health');

# /api/v1/instance
$r = $t->get('/api/v1/instance');
is($r->{status}, 200, 'v1 instance');
my $v1 = $r->{json} // {};
like($v1->{version} // '', qr/^4\.\d+\.\d+ \(compatible; ngx_fedi /,
     'v1 version');
is($v1->{uri}, $t->domain(), 'v1 uri is the domain');
like($v1->{urls}{streaming_api} // '', qr{^wss?://}, 'v1 streaming_api');
is($v1->{configuration}{statuses}{max_characters}, 500,
   'v1 max_characters');
ok(exists $v1->{stats}{user_count}, 'v1 stats');

# /api/v2/instance
$r = $t->get('/api/v2/instance');
is($r->{status}, 200, 'v2 instance');
like($r->{headers}{'content-type'}, qr{^application/json}, 'v2 JSON');
my $v2 = $r->{json} // {};
is($v2->{domain}, $t->domain(), 'v2 domain');
like($v2->{version} // '', qr/^4\.\d+\.\d+ \(compatible; ngx_fedi /,
     'v2 version');
ok(defined $v2->{api_versions}{mastodon}
   && !ref $v2->{api_versions}{mastodon}
   && $v2->{api_versions}{mastodon} =~ /^\d+$/
   && Fedi::Test::json_encode($v2->{api_versions}{mastodon}) !~ /"/,
   'v2 api_versions.mastodon is a number');
like($v2->{configuration}{urls}{streaming} // '', qr{^wss?://},
     'v2 streaming url');
is($v2->{configuration}{statuses}{max_characters}, 500,
   'v2 max_characters default 500');
ok(ref $v2->{rules} eq 'ARRAY', 'v2 rules array');
ok(ref $v2->{registrations} eq 'HASH', 'v2 registrations');
like($v2->{thumbnail}{url} // '', qr{^https?://}, 'v2 thumbnail url');

# NodeInfo discovery: absolute links to 2.0 and 2.1
$r = $t->get('/.well-known/nodeinfo');
is($r->{status}, 200, 'well-known nodeinfo');
my %links = map { $_->{rel} => $_->{href} } @{ $r->{json}{links} // [] };
is($links{'http://nodeinfo.diaspora.software/ns/schema/2.0'},
   "$base/nodeinfo/2.0", 'link to 2.0');
is($links{'http://nodeinfo.diaspora.software/ns/schema/2.1'},
   "$base/nodeinfo/2.1", 'link to 2.1');

for my $v ('2.0', '2.1') {
    $r = $t->get("/nodeinfo/$v");
    is($r->{status}, 200, "nodeinfo $v");
    my $ni = $r->{json} // {};
    is($ni->{version}, $v, "nodeinfo $v version");

    # megalodon's detector: software.name, else metadata.upstream.name
    ok(($ni->{software}{name} // '') eq 'mastodon'
       || lc($ni->{metadata}{upstream}{name} // '') eq 'mastodon',
       "nodeinfo $v: a Mastodon client recognizes it");
    ok((grep { $_ eq 'activitypub' } @{ $ni->{protocols} // [] }),
       "nodeinfo $v: activitypub");
    ok(defined $ni->{usage}{users}{total}, "nodeinfo $v: user count");
    ok(defined $ni->{openRegistrations}, "nodeinfo $v: openRegistrations");
}

$r = $t->get('/nodeinfo/9.9');
is($r->{status}, 404, 'unknown nodeinfo version: 404');

# host-meta: XRD with the WebFinger template
$r = $t->get('/.well-known/host-meta');
is($r->{status}, 200, 'host-meta');
like($r->{headers}{'content-type'}, qr{^application/xrd\+xml},
     'host-meta type');
like($r->{body},
     qr{<Link rel="lrdd"[^>]*template="\Q$base\E/\.well-known/webfinger\?resource=\{uri\}"},
     'host-meta lrdd template');

# peers
$r = $t->get('/api/v1/instance/peers');
is($r->{status}, 200, 'peers');
is(ref $r->{json}, 'ARRAY', 'peers: array');

# rules, as the operator writes them
$r = $t->get('/api/v1/instance/rules');
is_deeply([$r->{status}, $r->{json}], [200, []], 'no rules yet');

$t->psql(q{INSERT INTO rules (text, hint, position) VALUES
           ('Be nice', 'Really', 2), ('No spam', '', 1)});
my ($id) = $t->psql(q{SELECT id FROM rules WHERE text = 'No spam'});

$r = $t->get('/api/v1/instance/rules');
is(scalar @{ $r->{json} // [] }, 2, 'two rules');
is_deeply($r->{json}[0], { id => "$id", text => 'No spam', hint => '' },
          'rule: id as a string, text, hint; ordered by position');
is($r->{json}[1]{text}, 'Be nice', 'second rule');

# custom emojis
$r = $t->get('/api/v1/custom_emojis');
is_deeply([$r->{status}, $r->{json}], [200, []], 'no custom emojis');

$t->psql(q{INSERT INTO custom_emojis
           (shortcode, image_url, static_url, visible_in_picker, category)
           VALUES ('blobcat', 'https://x.test/b.png', 'https://x.test/bs.png',
                   true, 'blobs')});
$t->psql(q{INSERT INTO custom_emojis
           (shortcode, domain, image_url, static_url)
           VALUES ('remote', 'other.test', 'https://o.test/r.png',
                   'https://o.test/rs.png')});

$r = $t->get('/api/v1/custom_emojis');
is(scalar @{ $r->{json} // [] }, 1, 'local emojis only');
is_deeply($r->{json}[0],
          { shortcode => 'blobcat', url => 'https://x.test/b.png',
            static_url => 'https://x.test/bs.png', visible_in_picker => JSON::PP::true,
            category => 'blobs' },
          'emoji fields');

# fedi_max_characters reaches both instance documents after a reload
$t->write_file_expand('nginx.conf',
                      $conf =~ s/%%EXTRA%%/fedi_max_characters 1000;/r);
$t->reload();

is($t->get('/api/v2/instance')->{json}{configuration}{statuses}{max_characters},
   1000, 'v2 max_characters follows fedi_max_characters');
is($t->get('/api/v1/instance')->{json}{configuration}{statuses}{max_characters},
   1000, 'v1 max_characters follows fedi_max_characters');
