#!/usr/bin/perl

# The router and what every client API answer shares: JSON errors for
# unknown paths, wrong methods and bad bodies; CORS on the public
# documents and preflights that browser clients (Elk, Phanpy) send.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use Fedi::Test qw(json_error);

my $t = Fedi::Test->new();

$t->write_default_conf();

$t->run()->plan(24);

# unknown path under /api/: Mastodon's 404 {"error": "Record not found"}
my $r = $t->get('/api/v1/no_such_thing');
is($r->{status}, 404, 'unknown api path: 404');
like($r->{headers}{'content-type'}, qr{^application/json}, 'unknown: JSON');
ok(defined json_error($r), 'unknown: error');

$r = $t->get('/api/v2/instance/nope/deeper');
is($r->{status}, 404, 'unknown deeper path: 404');

# a known path with a method it does not take
$r = $t->delete('/api/v2/instance');
is($r->{status}, 405, 'DELETE /api/v2/instance: 405');
like($r->{headers}{'content-type'}, qr{^application/json}, '405: JSON');
ok(defined json_error($r), '405: error');

# CORS on public documents
$r = $t->get('/api/v2/instance', headers => { Origin => 'https://elk.zone' });
is($r->{status}, 200, 'instance');
is($r->{headers}{'access-control-allow-origin'}, '*', 'instance: CORS');

$r = $t->get('/.well-known/nodeinfo',
             headers => { Origin => 'https://elk.zone' });
is($r->{status}, 200, 'nodeinfo');
is($r->{headers}{'access-control-allow-origin'}, '*', 'nodeinfo: CORS');

# a browser's preflight
$r = $t->options('/api/v1/instance', headers => [
    Origin => 'https://phanpy.social',
    'Access-Control-Request-Method' => 'POST',
    'Access-Control-Request-Headers' => 'authorization,content-type',
]);
ok($r->{status} == 200 || $r->{status} == 204, 'preflight: 200 or 204')
    or diag("status $r->{status}");
is($r->{headers}{'access-control-allow-origin'}, '*', 'preflight: origin');

my $allow = lc($r->{headers}{'access-control-allow-headers'} // '');
like($allow, qr/\bauthorization\b/, 'preflight: allows Authorization');
like($allow, qr/\bcontent-type\b/, 'preflight: allows Content-Type');
like($allow, qr/\bidempotency-key\b/, 'preflight: allows Idempotency-Key');

my $methods = $r->{headers}{'access-control-allow-methods'} // '';
like($methods, qr/\bPOST\b/, 'preflight: allows POST');
like($methods, qr/\bGET\b/, 'preflight: allows GET');

my $expose = lc($r->{headers}{'access-control-expose-headers'} // '');
like($expose, qr/\blink\b/, 'preflight: exposes Link');
like($expose, qr/\bx-ratelimit-reset\b/, 'preflight: exposes X-RateLimit-Reset');

# a body that is not JSON
$r = $t->post('/api/v1/apps', body => '{"a":',
              headers => { 'Content-Type' => 'application/json' });
is($r->{status}, 400, 'malformed JSON: 400');
like($r->{headers}{'content-type'}, qr{^application/json}, '400: JSON');
ok(defined json_error($r), '400: error');

# the server is still fine
is($t->get('/api/v2/instance')->{status}, 200, 'still answers');
