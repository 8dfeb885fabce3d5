#!/usr/bin/perl

# Two of our instances in the federation lab, https://one.test and
# https://two.test, each with its own database: they find each other's
# accounts and documents through WebFinger and ActivityPub over TLS.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use Fedi::Test;
use Fedi::Lab;

my $lab = Fedi::Lab->new();
$lab->host($_) for qw(one.test two.test);
$lab->start_dns();

# the fetches' refusals are logged at "info"
$ENV{FEDI_TEST_LOG_LEVEL} = 'info';

my $one = $lab->instance('one.test');
my $two = $lab->instance('two.test');

my ($alice) = $one->sign_up('alice');
my ($bob) = $two->sign_up('bob');

sub lookup {
    my ($t, $token, $acct) = @_;
    return $t->get("/api/v1/accounts/lookup?acct=$acct", token => $token);
}

# each finds the other's account, and what it finds is what the other
# says of its own

for my $case ([$one, $alice, $two, 'bob'], [$two, $bob, $one, 'alice']) {
    my ($t, $token, $other, $name) = @$case;
    my $home = $other->domain();

    my $r = lookup($t, $token, "$name\@$home");
    is($r->{status}, 200, "$name\@$home resolves from " . $t->domain())
        or diag($r->{body}, $t->error_log());
    is($r->{json}{acct}, "$name\@$home", 'acct is user@domain');
    is($r->{json}{url}, "https://$home/\@$name", 'url: the profile page there');

    my $there = $other->get("/api/v1/accounts/lookup?acct=$name")->{json};
    is($r->{json}{username}, $there->{username}, 'the same username');
    is($r->{json}{display_name}, $there->{display_name}, 'the same name');
    is($r->{json}{locked}, $there->{locked}, 'the same locked');
    is($r->{json}{bot}, $there->{bot}, 'the same bot');

    my ($row) = $t->psql("SELECT uri || ' ' || inbox_url || ' '"
                         . " || coalesce(shared_inbox_url, '-')"
                         . " FROM accounts WHERE domain = '$home'");
    is($row =~ s/\s+$//r,
       "https://$home/users/$name https://$home/users/$name/inbox"
       . " https://$home/inbox",
       'stored with its actor id, its inbox and the shared inbox');
    my ($key) = $t->psql("SELECT public_key FROM accounts WHERE domain = '$home'");
    my ($own) = $other->psql("SELECT public_key FROM accounts"
                             . " WHERE domain IS NULL AND username = '$name'");
    is($key, $own, 'and with the key the other instance signs with');
}

# domains are compared as stored: case, a trailing dot and IDN forms
# name the same one
my $known = lookup($one, $alice, 'bob@two.test')->{json}{id};
my $r = lookup($one, $alice, 'bob@TWO.Test.');
is($r->{json}{id}, $known, 'bob@TWO.Test. is bob@two.test');
$r = $one->get('/api/v2/search?resolve=true&q=@bob@Two.TEST', token => $alice);
is($r->{json}{accounts}[0]{id}, $known, 'in search too');
is(lookup($one, $alice, 'bob@two..test')->{status}, 404, 'a name that is no domain: 404');
is($one->psql("SELECT count(*) FROM accounts WHERE domain IS NOT NULL") + 0, 1,
   'and nothing else stored');

my $FEDICTL = "$Fedi::Test::TOP/build/fedictl";
my $out = `$FEDICTL --db '@{[ $one->conninfo() ]}' domains block 'B\xc3\x9cCHER.test.' 2>&1`;
like($out, qr/^xn--bcher-kva\.test: created/m,
     'fedictl domains block: an internationalized name in its ASCII form');
$out = `$FEDICTL --db '@{[ $one->conninfo() ]}' domains unblock 'b\xc3\xbccher.test' 2>&1`;
is($?, 0, 'and unblocked by its Unicode form') or diag($out);

# a profile URL of the other instance, found through search with resolve

$r = $one->get('/api/v2/search?resolve=true&type=accounts&q=https://two.test/@bob',
               token => $alice);
is($r->{status}, 200, 'a profile URL of two.test is searched for on one.test')
    or diag($r->{body});
is($r->{json}{accounts}[0]{acct}, 'bob@two.test', 'and found')
    or diag($r->{body}, $one->error_log());

# carol is not known on one.test yet: her profile page's URL serves her
# actor, whose id is another URL, fetched once more
$two->sign_up('carol');
$r = $one->get('/api/v2/search?resolve=true&type=accounts&q=https://two.test/@carol',
               token => $alice);
is($r->{json}{accounts}[0]{acct}, 'carol@two.test',
   'a profile URL not known yet: fetched, then fetched by its id')
    or diag($r->{body}, $one->error_log());
is($one->psql("SELECT uri FROM accounts WHERE username = 'carol'") =~ s/\s+$//r,
   'https://two.test/users/carol', 'stored under its id');

# a status's URL: fetched from its origin (its page's URL serves the Note,
# whose id is fetched once more), stored, found
my $post = $two->post('/api/v1/statuses', token => $bob,
                      json => { status => 'Found by its URL' })->{json};
my $secret = $two->post('/api/v1/statuses', token => $bob,
                        json => { status => 'for followers',
                                  visibility => 'private' })->{json};

sub search_status {
    my ($q) = @_;
    my $r = $one->get("/api/v2/search?resolve=true&type=statuses&q=$q",
                      token => $alice);
    return $r->{json}{statuses} // [];
}

my $found = search_status($post->{url});
is(scalar @$found, 1, 'a post URL of two.test is found from one.test')
    or diag(explain($found), $one->error_log());
is($found->[0]{uri}, $post->{uri}, 'the post, by its id');
like($found->[0]{content}, qr/Found by its URL/, 'with its content');
is($found->[0]{account}{acct}, 'bob@two.test', 'by bob@two.test');
is($one->psql("SELECT count(*) FROM statuses WHERE uri = '$post->{uri}'") + 0, 1,
   'stored once');
is(search_status($post->{uri})->[0]{id}, $found->[0]{id}, 'by its id too, not fetched again');
is(scalar @{ search_status($secret->{url}) }, 0, 'a private post is not found');
is(scalar @{ $one->get("/api/v2/search?type=statuses&q=$post->{url}")->{json}{statuses} // [1] },
   0, 'without a token: nothing is resolved');

done_testing();
