#!/usr/bin/perl

# Reports, as Mastodon's: POST /api/v1/reports (the Report entity, its
# errors, scopes), forwarded as a Flag signed by the instance actor to
# our second instance (where it becomes a report) and to the Fedify peer;
# Flags received (a report against each local account named, with the
# statuses the sender could see), refused when the domain is blocked with
# reject_reports or the signer is not the actor; fedictl reports
# list|show|resolve.

use strict;
use warnings;
use utf8;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use Time::HiRes qw(sleep time);
use Fedi::Test;
use Fedi::Lab;
use Fedi::Cavage;

my $lab = Fedi::Lab->new();
$lab->host($_) for qw(one.test two.test peer.test);
$lab->start_dns();
$lab->start_peer('peer.test', LAB_ACTOR_PEM => $lab->mallory_pem());

$ENV{FEDI_TEST_LOG_LEVEL} = 'info';

my $one = $lab->instance('one.test');
my $two = $lab->instance('two.test');

my ($alice, $alice_id) = $one->sign_up('alice');
my ($carol, $carol_id) = $one->sign_up('carol');
my ($dave, $dave_id) = $one->sign_up('dave');
my ($bob, $bob_id) = $two->sign_up('bob');

my $FEDICTL = "$Fedi::Test::TOP/build/fedictl";

sub fedictl {
    my ($t, @a) = @_;
    my $out = `$FEDICTL --db '@{[ $t->conninfo() ]}' @a 2>&1`;
    return ($? >> 8, $out);
}

sub eventually {
    my ($what, $timeout) = @_;
    my $end = time + ($timeout // 20);
    while (time < $end) {
        my $v = $what->();
        return $v if $v;
        sleep 0.1;
    }
    return $what->();
}

sub report {
    my ($t, $token, %p) = @_;
    return $t->post('/api/v1/reports', token => $token, json => \%p);
}

# --- the Report entity ---------------------------------------------------

my $r = $one->post('/api/v1/statuses', token => $carol,
                   json => { status => 'buy cheap watches' });
my $spam = $r->{json}{id};
$r = $one->post('/api/v1/statuses', token => $carol,
                json => { status => 'for my followers', visibility => 'private' });
my $private = $r->{json}{id};
$r = $one->post('/api/v1/statuses', token => $dave, json => { status => 'dave here' });
my $daves = $r->{json}{id};

$r = report($one, $alice, account_id => $carol_id, status_ids => [$spam],
            comment => 'spam, clearly', category => 'spam');
is($r->{status}, 200, 'alice reports carol and a status of hers') or diag($r->{body});
my $rep = $r->{json};
like($rep->{id}, qr/^\d+$/, 'the report has an id');
is($rep->{category}, 'spam', 'its category');
is($rep->{comment}, 'spam, clearly', 'its comment');
is_deeply($rep->{status_ids}, [$spam], 'its statuses, ids as strings');
is($rep->{rule_ids}, undef, 'no rules');
ok(!$rep->{action_taken} && !defined $rep->{action_taken_at}, 'not acted on');
ok(defined $rep->{forwarded} && !$rep->{forwarded},
   'forwarded: false (a local account)');
is($rep->{target_account}{id}, $carol_id, 'target_account: carol');
is($rep->{target_account}{acct}, 'carol', 'as an Account');
like($rep->{created_at}, qr/^\d{4}-\d\d-\d\dT[\d:.]+Z$/, 'created_at');

$r = $one->post('/api/v1/reports', token => $alice,
                form => { account_id => $carol_id });
is($r->{status}, 200, 'a form body with the account alone');
is($r->{json}{category}, 'other', 'category other by default');
is($r->{json}{comment}, '', 'an empty comment');
is_deeply($r->{json}{status_ids}, [], 'no statuses');

# rules: given, they make it a violation; each must exist

my ($rule) = $one->psql("INSERT INTO rules (text) VALUES ('No spam') RETURNING id")
    =~ /(\d+)/;
$r = report($one, $alice, account_id => $carol_id, category => 'spam',
            rule_ids => [$rule]);
is($r->{status}, 200, 'a report citing a rule') or diag($r->{body});
is($r->{json}{category}, 'violation', 'rules make it a violation');
is_deeply($r->{json}{rule_ids}, [$rule], 'rule_ids as strings');

for my $bad ([rule_ids => [$rule, '999']], [rule_ids => ['x']],
             [category => 'violation']) {
    $r = report($one, $alice, account_id => $carol_id, @$bad);
    is($r->{status}, 422, "@$bad[0] not of existing rules: 422");
    is($r->{json}{error},
       'Validation failed: Rule ids does not reference valid rules',
       'Mastodon\'s message');
}

$r = report($one, $alice, account_id => $carol_id, category => 'bogus');
is($r->{status}, 422, 'an unknown category: 422');
like($r->{json}{error}, qr/not a valid category/, 'says so');

$r = report($one, $alice, account_id => $carol_id, comment => 'é' x 1001);
is($r->{status}, 422, 'a comment of 1001 characters: 422');
is($r->{json}{error},
   'Validation failed: Comment is too long (maximum is 1000 characters)',
   'Mastodon\'s message');
$r = report($one, $alice, account_id => $carol_id, comment => 'é' x 1000);
is($r->{status}, 200, '1000 characters (2000 bytes) are fine');

# statuses: the target's, visible to the reporter

for my $case ([[$daves], 'a status of another account'],
              [[$private], 'a private status the reporter cannot see'],
              [['12x'], 'no status id'],
              [['9999999999'], 'a status that does not exist']) {
    $r = report($one, $alice, account_id => $carol_id,
                status_ids => $case->[0]);
    is($r->{status}, 404, "$case->[1]: 404");
    is($r->{json}{error}, 'Record not found', 'Record not found');
}

$r = report($one, $alice, account_id => '9999999999');
is($r->{status}, 404, 'an account that does not exist: 404');
$r = report($one, $alice, comment => 'who?');
is($r->{status}, 404, 'no account_id: 404');

$one->psql("UPDATE accounts SET suspended_at = now() WHERE id = $dave_id");
$r = report($one, $alice, account_id => $dave_id);
is($r->{status}, 404, 'a suspended account: 404');

# scopes

$r = $one->post('/api/v1/reports', json => { account_id => $carol_id });
is($r->{status}, 401, 'no token: 401');
my $app = $one->post('/api/v1/apps', form => {
    client_name => 'narrow', redirect_uris => 'urn:ietf:wg:oauth:2.0:oob',
    scopes => 'read write:reports' })->{json};
my $tok = sub {
    $one->post('/oauth/token', form => {
        grant_type => 'password', client_id => $app->{client_id},
        client_secret => $app->{client_secret}, username => 'alice',
        password => 'correct horse', scope => $_[0] })->{json}{access_token};
};
$r = report($one, $tok->('read'), account_id => $carol_id);
is($r->{status}, 403, 'a read token: 403');
is($r->{json}{error}, 'This action is outside the authorized scopes',
   'Mastodon\'s message');
$r = report($one, $tok->('write:reports'), account_id => $carol_id);
is($r->{status}, 200, 'write:reports is enough');

is($one->psql("SELECT count(*) FROM reports") + 0, 5,
   'the refused ones left nothing behind');

# --- fedictl reports -----------------------------------------------------

my ($rc, $out) = fedictl($one, 'reports', 'list');
is($rc, 0, 'fedictl reports list');
like($out, qr/^$rep->{id}\t\S+\talice\tcarol\tspam\t1 statuses\topen$/m,
     'one line a report: id, date, by, against, category, statuses, state')
    or diag($out);

($rc, $out) = fedictl($one, 'reports', 'show', $rep->{id});
is($rc, 0, 'fedictl reports show');
like($out, qr/^comment: spam, clearly$/m, 'the comment');
like($out, qr/^  $spam \(local\) buy cheap watches$/m, 'the status, with its text')
    or diag($out);

($rc, $out) = fedictl($one, 'reports', 'resolve', $rep->{id});
is($rc, 0, 'fedictl reports resolve') or diag($out);
($rc, $out) = fedictl($one, 'reports', 'list');
unlike($out, qr/^$rep->{id}\t/m, 'resolved: out of the open list');
($rc, $out) = fedictl($one, 'reports', 'list', '--all');
like($out, qr/^$rep->{id}\t.*\tresolved$/m, '--all shows it resolved');
($rc, $out) = fedictl($one, 'reports', 'show', '123');
is($rc, 1, 'an unknown report: exit 1');
($rc, $out) = fedictl($one, 'reports', 'resolve', 'x');
is($rc, 2, 'no id: usage, exit 2');

# --- forwarded: a Flag from the instance actor ---------------------------

my $bob_on_one = $one->get('/api/v1/accounts/lookup?acct=bob@two.test',
                           token => $alice)->{json}{id};
ok($bob_on_one, 'one.test knows bob@two.test');
is($one->post("/api/v1/accounts/$bob_on_one/follow", token => $alice)->{status},
   200, 'alice follows him');
ok(eventually(sub {
    $one->get("/api/v1/accounts/relationships?id[]=$bob_on_one",
              token => $alice)->{json}[0]{following};
}), 'accepted');

$r = $two->post('/api/v1/statuses', token => $bob,
                json => { status => 'rude words from two' });
my $bobs = $r->{json};
my $seen = eventually(sub {
    my $h = $one->get('/api/v1/timelines/home', token => $alice)->{json} // [];
    (grep { ($_->{uri} // '') eq $bobs->{uri} } @$h)[0];
});
ok($seen, 'bob\'s post reached alice');

$r = report($one, $alice, account_id => $bob_on_one, status_ids => [$seen->{id}],
            comment => 'not forwarded');
is($r->{status}, 200, 'a report of bob, not forwarded');
ok(!$r->{json}{forwarded}, 'forwarded: false');
$r = report($one, $alice, account_id => $bob_on_one, forward => JSON::PP::true(),
            forward_to_domains => []);
ok(!$r->{json}{forwarded}, 'forward with no domains forwards nowhere');

$r = report($one, $alice, account_id => $bob_on_one, status_ids => [$seen->{id}],
            comment => '/rude, see the post', category => 'spam',
            forward => 'true', forward_to_domains => ['Two.Test.']);
is($r->{status}, 200, 'a report of bob, forwarded to two.test (as written: normalized)')
    or diag($r->{body});
ok($r->{json}{forwarded}, 'forwarded: true');

my $got = eventually(sub {
    my ($row) = $two->psql("SELECT a.username || '\@' || a.domain || '|'"
        . " || r.target_account_id || '|' || array_to_string(r.status_ids, ',')"
        . " || '|' || coalesce(r.uri, '') || '|' || r.comment FROM reports r"
        . " JOIN accounts a ON a.id = r.account_id");
    $row;
}, 30);
ok($got, 'two.test has a report') or diag($one->error_log() . $two->error_log());
my ($from, $target, $sids, $uri, $comment) = split /\|/, $got // '', 5;
is($from, 'one.test@one.test', 'from one.test\'s instance actor, not alice');
is($target, $bob_id, 'against bob');
is($sids, $bobs->{id}, 'with bob\'s status, by two.test\'s id');
like($uri, qr{^https://one\.test/flags/[0-9a-f-]{36}$}, 'the Flag\'s id kept (same host as its actor)');
is($comment, '/rude, see the post', 'the comment, as text (a leading / untouched)');
my ($body) = $two->psql("SELECT body::text FROM inbox_activities"
                        . " WHERE body ->> 'type' = 'Flag'");
unlike($body, qr/alice/, 'the Flag does not name the reporter');
is($two->psql("SELECT count(*) FROM reports") + 0, 1,
   'the reports not forwarded did not arrive');

# and to the Fedify peer, which verifies the instance actor's signature

my $pbob = $one->get('/api/v1/accounts/lookup?acct=bob@peer.test',
                     token => $alice)->{json}{id};
ok($pbob, 'one.test knows bob@peer.test');
$r = report($one, $alice, account_id => $pbob, comment => 'to fedify',
            forward => JSON::PP::true());
ok($r->{json}{forwarded}, 'reported and forwarded to peer.test');
my $flag = eventually(sub {
    my $in = $lab->peer('peer.test', 'inbox')->{json};
    (grep { $_->{type} eq 'Flag' } @{ $in // [] })[0];
}, 30);
ok($flag, 'the Fedify peer received a Flag (its signature verified)')
    or diag($lab->peer_log('peer.test'));
is($flag->{actor}, 'https://one.test/actor', 'from the instance actor');
is($flag->{json}{content}, 'to fedify', 'with the comment');
my @obj = ref $flag->{json}{object} ? @{ $flag->{json}{object} } : ($flag->{json}{object});
is_deeply(\@obj, ['https://peer.test/users/bob'], 'naming bob');

# a reported post replying to someone on a third server: with that
# server among forward_to_domains, it gets the Flag too (and two.test,
# not named, does not)

my ($reply) = $one->psql("INSERT INTO statuses (account_id, text, content, uri,"
    . " in_reply_to_account_id) VALUES ($bob_on_one, 'you again', '<p>you again</p>',"
    . " 'https://two.test/users/bob/statuses/424242', $pbob) RETURNING id") =~ /(\d+)/;
$r = report($one, $alice, account_id => $bob_on_one, status_ids => [$reply],
            comment => 'a reply to peer.test', forward => JSON::PP::true(),
            forward_to_domains => ['peer.test']);
is($r->{status}, 200, 'a report of bob\'s reply to bob@peer.test, forwarded to peer.test')
    or diag($r->{body});
ok(!$r->{json}{forwarded}, 'forwarded: false (not to bob\'s own server)');
$flag = eventually(sub {
    my $in = $lab->peer('peer.test', 'inbox')->{json};
    (grep { $_->{type} eq 'Flag' && ($_->{json}{content} // '') eq 'a reply to peer.test' }
     @{ $in // [] })[0];
}, 30);
ok($flag, 'peer.test, replied to, received the Flag');
is_deeply($flag->{json}{object}, ['https://two.test/users/bob',
                                  'https://two.test/users/bob/statuses/424242'],
          'naming bob@two.test and his post');
is($two->psql("SELECT count(*) FROM reports") + 0, 1, 'two.test got none');

# --- Flags received ------------------------------------------------------

my $key = $lab->mallory_key();
my $MALLORY = 'https://peer.test/users/mallory';
my $n = 0;

sub flag {
    my (%o) = @_;
    my $actor = delete $o{actor} // $MALLORY;
    my $b = Fedi::Test::json_encode({
        '@context' => 'https://www.w3.org/ns/activitystreams',
        id => delete $o{id} // "$MALLORY/flags/" . ++$n, type => 'Flag',
        actor => $actor, %o });
    my $r = $one->post('/inbox', body => $b, headers => Fedi::Cavage::headers(
        key => $key, key_id => "$MALLORY#main-key", path => '/inbox',
        host => 'one.test', body => $b));
    return ($r, Fedi::Test::json_decode($b)->{id});
}

sub outcome {
    my ($id) = @_;
    return eventually(sub {
        my ($o) = $one->psql("SELECT outcome FROM inbox_activities"
                             . " WHERE uri = '$id' AND processed_at IS NOT NULL");
        $o;
    }, 10) // '(not processed)';
}

my $before = $one->psql("SELECT count(*) FROM reports") + 0;
my ($fr, $fid) = flag(content => 'from afar',
    object => ['https://one.test/users/carol', "https://one.test/users/carol/statuses/$spam",
               "https://one.test/users/carol/statuses/$private",
               'https://one.test/users/alice', 'https://elsewhere.test/users/x']);
is($fr->{status}, 202, 'a Flag naming carol, two of her statuses and alice: 202');
is(outcome($fid), 'flag 2', 'two reports');
my %rows = map { my @f = split /\|/, $_, -1; ($f[0] => [@f]) } split /\n/, $one->psql(
    "SELECT t.username || '|' || a.username || '\@' || a.domain || '|'"
    . " || array_to_string(r.status_ids, ',') || '|' || r.comment || '|'"
    . " || coalesce(r.uri, '') FROM reports r JOIN accounts t"
    . " ON t.id = r.target_account_id JOIN accounts a ON a.id = r.account_id"
    . " WHERE a.domain = 'peer.test'");
is_deeply($rows{carol}, ['carol', 'mallory@peer.test', $spam, 'from afar', $fid],
          'against carol, from mallory, with the public status only (the private one'
          . ' peer.test could not see), the comment and the Flag\'s id');
is_deeply([@{ $rows{alice} // [] }[0, 2]], ['alice', ''], 'against alice, without statuses');

(undef, $fid) = flag(object => 'https://one.test/users/carol',
                     id => 'https://other.test/flags/1');
is(outcome($fid), 'flag 1', 'a Flag whose id is on another host still reports');
is($one->psql("SELECT coalesce(uri, 'none') FROM reports ORDER BY id DESC LIMIT 1")
   =~ s/\s+$//r, 'none', 'but its id is not kept');

(undef, $fid) = flag(object => ['https://elsewhere.test/users/x']);
is(outcome($fid), 'flag: no local account named', 'a Flag of nobody here: nothing');

# forged: signed by mallory, claiming to be peer.test's bob
($fr) = flag(actor => 'https://peer.test/users/bob',
             object => ['https://one.test/users/carol']);
is($fr->{status}, 401, 'a Flag whose actor is not the signer: 401');

my $now = $one->psql("SELECT count(*) FROM reports") + 0;
is($now, $before + 3, 'three reports from the Flags that were taken');

($rc, $out) = fedictl($one, 'domains', 'block', 'peer.test', '--severity', 'noop',
                      '--reject-reports');
is($rc, 0, 'peer.test blocked with --reject-reports') or diag($out);
(undef, $fid) = flag(object => ['https://one.test/users/carol']);
is(outcome($fid), 'flag: reports from this domain are rejected',
   'its Flags are refused');
is($one->psql("SELECT count(*) FROM reports") + 0, $now, 'no report');

($rc, $out) = fedictl($one, 'reports', 'list');
like($out, qr/\tmallory\@peer\.test\tcarol\tother\t1 statuses\topen$/m,
     'fedictl lists the remote reports');

done_testing();
