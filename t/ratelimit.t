#!/usr/bin/perl

# Mastodon's API rate limit: N requests per 5 minutes per token (per
# address without one), counted across workers, with X-RateLimit-*
# headers, then 429.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use Fedi::Test;

my $t = Fedi::Test->new(rate_limit => 5);

$t->write_default_conf();

$t->run();

# one request from this address: the app (the token endpoint is not /api/)
my $app = $t->post('/api/v1/apps', form => {
    client_name => 'rl', redirect_uris => 'urn:ietf:wg:oauth:2.0:oob' })->{json};
my $tok = $t->post('/oauth/token', form => {
    grant_type => 'client_credentials', client_id => $app->{client_id},
    client_secret => $app->{client_secret} })->{json}{access_token};


my @r = map { $t->get('/api/v1/instance/rules') } 1 .. 5;

is_deeply([ map { $_->{status} } @r ], [200, 200, 200, 200, 429],
          'the sixth request of five allowed is refused');
is($r[0]{headers}{'x-ratelimit-limit'}, 5, 'X-RateLimit-Limit');
is_deeply([ map { $_->{headers}{'x-ratelimit-remaining'} } @r ],
          [3, 2, 1, 0, 0], 'X-RateLimit-Remaining counts down');
like($r[0]{headers}{'x-ratelimit-reset'},
     qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z$/, 'X-RateLimit-Reset');
is($r[4]{json}{error}, 'Too many requests', 'a Mastodon-shaped 429');

# both workers count into the same shared slots: many connections, each
# landing on either worker, never get more than the limit between them
# both workers count into the same shared slots: many connections, each
# landing on either worker, never get more than the limit between them
my @kids = map {
    $t->spawn(sub {
        $t->get('/api/v1/apps/verify_credentials', token => $tok)->{status};
    })
} 1 .. 10;
my @codes = sort map { $_->wait } @kids;
is(scalar(grep { $_ == 200 } @codes), 5,
   'ten requests with one token: five served, across workers');
is(scalar(grep { $_ == 429 } @codes), 5, 'and five refused');

ok(!exists $t->get('/oauth/authorize')->{headers}{'x-ratelimit-limit'},
   'the OAuth pages are not counted');

$t->done_testing();
