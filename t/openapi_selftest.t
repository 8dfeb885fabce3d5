#!/usr/bin/perl

# t/openapi/validate.mjs itself, the check every recorded JSON answer of
# the other tests goes through: the schema's own Instance example passes,
# the same answer broken fails, as does a body that is not JSON; error
# statuses are Error entities; a literal path segment wins over {id};
# paths the Mastodon API does not have are skipped.

use strict;
use warnings;

use FindBin;
use File::Temp qw(tempdir);
use JSON::PP;
use Test::More;

my $DIR = "$FindBin::Bin/openapi";
my $JSON = JSON::PP->new->utf8->canonical;

plan(skip_all => 'node is missing') unless `node --version 2>/dev/null`;
plan(skip_all => "$DIR/node_modules is missing: run make deps-npm")
    unless -d "$DIR/node_modules/ajv";

my $spec = $JSON->decode(slurp("$DIR/mastodon-openapi.json"));
my $instance = $spec->{components}{examples}{Instance200Example}{value};
my $tmp = tempdir('fedi-openapi-XXXXXXXX', TMPDIR => 1, CLEANUP => 1);

plan(tests => 17);

ok(ref $instance eq 'HASH', 'the schema has an Instance example');

# good answers, as a client sees them: raw body text, query in the path

my $r = validate(
    { method => 'GET', path => '/api/v2/instance?with=query', status => 200,
      body => $JSON->encode($instance) },
    # t/lib/Fedi/Test.pm's way: decoded body, query apart
    { method => 'GET', path => '/api/v2/instance', query => '',
      status => 200, body => $instance },
    { method => 'GET', path => '/api/v1/accounts/verify_credentials',
      status => 401, body => '{"error":"The access token is invalid"}' },
    { method => 'GET', path => '/api/v1/statuses/1', status => 503,
      body => '{"error":"Service unavailable"}' },
    { method => 'DELETE', path => '/api/v1/statuses/1', status => 500,
      body => '{"error":"We\'re sorry, but something went wrong"}' },
    { method => 'GET', path => '/nodeinfo/2.0', status => 200, body => '{}' },
    { method => 'GET', path => '/.well-known/webfinger?resource=acct:a@b',
      status => 200, body => '{}' },
);

is($r->{rc}, 0, 'good answers: exit 0') or diag($r->{out});
like($r->{out}, qr/^1\.\.7$/m, 'good answers: a plan for each');
unlike($r->{out}, qr/^not ok/m, 'good answers: none fails');
like($r->{out}, qr{^ok 1 - GET /api/v2/instance 200 is /api/v2/instance 200$}m,
     'the Instance example is a valid GET /api/v2/instance');
like($r->{out}, qr{^ok 3 - .* is /api/v1/accounts/verify_credentials 401$}m,
     'a literal segment wins over {id}');
like($r->{out}, qr{^ok 5 - DELETE /api/v1/statuses/1 500 is Error$}m,
     'an error the operation does not list is an Error');
like($r->{out}, qr{^ok 6 - GET /nodeinfo/2\.0 200 # SKIP not in the Mastodon API spec$}m,
     'NodeInfo is skipped');
like($r->{out}, qr{^ok 7 - GET /\.well-known/webfinger 200 # SKIP not in}m,
     'WebFinger is skipped');

# broken answers

my %broken = %$instance;
delete $broken{version};
$broken{usage} = { users => { active_month => 'many' } };

$r = validate(
    { method => 'GET', path => '/api/v2/instance', status => 200,
      body => $JSON->encode(\%broken) },
);

is($r->{rc}, 1, 'a broken Instance: exit 1');
like($r->{out}, qr{^not ok 1 - GET /api/v2/instance 200}m,
     'a broken Instance: not ok');
like($r->{out}, qr{^#.*required property 'version'}m,
     'a broken Instance: the missing field is named');
like($r->{out}, qr{^#.*/usage/users/active_month must be integer}m,
     'a broken Instance: the wrong type is named');

$r = validate(
    { method => 'GET', path => '/api/v2/instance', status => 200,
      body => '<html>' },
    { method => 'GET', path => '/api/v1/accounts/1', status => 404,
      body => '{"message":"no error field"}' },
);

is($r->{rc}, 1, 'not JSON, an error without "error": exit 1');
like($r->{out}, qr{^not ok 1 - .*\n#\s+the body is not JSON}m,
     'a body that is not JSON fails');
like($r->{out}, qr{^not ok 2 - .*\n#.*required property 'error'}m,
     'an error answer must be an Error');

$r = run('node', "$DIR/validate.mjs");
is($r->{rc}, 2, 'no input file: exit 2');

###############################################################################

# validate(@answers): writes them as JSONL and runs validate.mjs on them

sub validate {
    my @answers = @_;
    my $file = "$tmp/answers." . int(rand 1e9) . '.jsonl';
    open(my $fh, '>', $file) or die "$file: $!";
    print $fh $JSON->encode($_), "\n" for @answers;
    close $fh;
    return run('node', "$DIR/validate.mjs", $file);
}

sub run {
    my $cmd = join ' ', map { "'$_'" } @_;
    my $out = `$cmd 2>&1`;
    return { rc => $? >> 8, out => $out };
}

sub slurp {
    my ($name) = @_;
    open(my $fh, '<', $name) or die "$name: $!";
    local $/;
    return scalar <$fh>;
}

###############################################################################
