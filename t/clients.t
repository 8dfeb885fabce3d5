#!/usr/bin/perl

# Real Mastodon client libraries from npm (masto.js 7 and megalodon 10,
# on the Node 22 that t/clients installs) against the module: register
# an app, sign up, obtain tokens, verify_credentials, update_credentials,
# relationships, lookups.  t/clients/accounts.mjs prints TAP; each of its
# lines becomes a test here.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use Fedi::Test;

my $dir = "$FindBin::Bin/clients";
my $node = "$dir/node_modules/.bin/node";

die "t/clients/node_modules is missing: run make test (npm ci --prefix t/clients)\n"
    unless -x $node;

my $t = Fedi::Test->new();

$t->write_default_conf();

$t->run();

my $base = 'http://127.0.0.1:' . $t->port(8080);
my $out = `cd $dir && $node accounts.mjs $base 2>&1`;
my $rc = $? >> 8;

my $n = 0;
for my $line (split /\n/, $out) {
    if ($line =~ /^(not )?ok \d+ - (.*)$/) {
        ok(!$1, $2);
        $n++;
    } elsif ($line =~ /^#/) {
        diag($line);
    }
}

ok($n >= 17, "the client script ran its checks ($n)") or diag($out);
is($rc, 0, 'the client script succeeded');

$t->done_testing();
