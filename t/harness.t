#!/usr/bin/perl

# The test harness itself (t/lib/Fedi/Test.pm), against the stock nginx
# without our module: requests and answers, JSON recording, reload,
# concurrency helpers, the test database and table locks.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use Fedi::Test qw(json_decode);

my $t = Fedi::Test->new(no_module => 1);

$t->write_file_expand('nginx.conf', <<'EOF');
%%TEST_GLOBALS%%

events {
}

http {
    %%TEST_GLOBALS_HTTP%%

    server {
        listen       127.0.0.1:%%PORT_8080%%;
        server_name  localhost;

        location /api/ {
            default_type  application/json;
            add_header    X-Method $request_method;
            return        200 '{"method":"$request_method","len":"$content_length"}';
        }

        location /text {
            return  200 "plain\n";
        }
    }
}
EOF

$t->run()->plan(16);

my $r = $t->get('/api/v1/x?a=1');
is($r->{status}, 200, 'GET status');
is($r->{headers}{'x-method'}, 'GET', 'GET header');
is($r->{json}{method}, 'GET', 'GET json');

$r = $t->post('/api/v1/x', json => { a => 1 });
is($r->{json}{len}, length('{"a":1}'), 'POST json body sent');

$r = $t->patch('/api/v1/x', form => { a => 'b c' });
is($r->{json}{method}, 'PATCH', 'PATCH');

$r = $t->get('/text');
is($r->{body}, "plain\n", 'text body');
ok(!exists $r->{json}, 'no json for text/plain');

my @lines = split /\n/, $t->read_file('responses.jsonl');
is(scalar @lines, 3, 'three /api/ answers recorded');
is_deeply(json_decode($lines[0]),
          { method => 'GET', path => '/api/v1/x', query => 'a=1',
            status => 200, content_type => 'application/json',
            body => { method => 'GET', len => '' } },
          'record format');

my $raw = $t->http_raw("GET /text HTTP/1.0\r\n\r\n");
like($raw, qr{^HTTP/1\.1 200 .*\r\n\r\nplain\n$}s, 'raw request');

# concurrency: children return data
my @kids = map { my $i = $_; $t->spawn(sub { $t->get('/text')->{status} + $i }) }
           1 .. 3;
is_deeply([map { scalar $_->wait } @kids], [201, 202, 203], 'spawn');

# reload replaces every worker
my @before = $t->worker_pids();
my @old = $t->reload();
my @after = $t->worker_pids();
is_deeply(\@old, \@before, 'reload returns the old workers');
ok(!grep({ my $o = $_; grep { $_ == $o } @after } @old),
   'old workers gone after reload');

# the database: each file has its own, from the migrated template
is($t->psql('SELECT count(*) FROM custom_emojis'), 0, 'psql in test db');

# a held lock makes other sessions wait until released
my $lock = $t->lock_table('custom_emojis');
my $kid = $t->spawn(sub { $t->psql('SELECT count(*) + 7 FROM custom_emojis') });
ok($t->wait_for_waiting(1), 'query waits for the lock');
$lock->release();
is($kid->wait, 7, 'query completes after release');
