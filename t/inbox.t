#!/usr/bin/perl

# The inbox, in the federation lab: activities signed by "mallory" of
# peer.test (an actor the peer serves with a key this test holds, signing
# with Perl's OpenSSL binding, an implementation independent of ours) are
# verified, stored once and processed (Follow, Undo); everything that
# fails a rule gets 401 at once, never 202.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Crypt::OpenSSL::RSA;
use POSIX qw(strftime);
use Test::More;
use Fedi::Test;
use Fedi::Lab;
use Fedi::Cavage;

my $lab = Fedi::Lab->new();
$lab->host('ours.test');
$lab->host('peer.test');
$lab->start_dns();

my $key = $lab->mallory_key();
my $other = Crypt::OpenSSL::RSA->generate_key(2048);
$other->use_sha256_hash();

$lab->start_peer('peer.test', LAB_ACTOR_PEM => $lab->mallory_pem());

$ENV{FEDI_TEST_LOG_LEVEL} = 'info';

my $t = $lab->instance('ours.test');

my ($alice, $alice_id) = $t->sign_up('alice');

my $MALLORY = 'https://peer.test/users/mallory';
my $n = 0;

sub activity {
    my (%a) = @_;
    return Fedi::Test::json_encode({
        '@context' => 'https://www.w3.org/ns/activitystreams',
        id => "$MALLORY/activities/" . ++$n, actor => $MALLORY, %a });
}

# a draft-cavage POST as Mastodon signs it; %o changes one thing
sub signed {
    my ($path, $body, %o) = @_;
    return $t->post($path, body => $body, headers => Fedi::Cavage::headers(
        key => $key, key_id => "$MALLORY#main-key", path => $path,
        body => $body, %o));
}

sub followers {
    my $r = $t->get("/api/v1/accounts/$alice_id/followers");
    return [ map { $_->{acct} } @{ $r->{json} // [] } ];
}

sub eventually {
    my ($want, $what) = @_;
    my $got;
    for (1 .. 100) {
        $got = followers();
        last if "@$got" eq "@$want";
        select(undef, undef, undef, 0.05);
    }
    is_deeply($got, $want, $what);
}

my $follow = activity(type => 'Follow', object => 'https://ours.test/users/alice');
my $r = signed('/users/alice/inbox', $follow);
is($r->{status}, 202, 'a signed Follow: 202') or diag($r->{body}, $t->error_log());
eventually(['mallory@peer.test'], 'processed: mallory follows alice');

my ($stored) = $t->psql("SELECT count(*) || ' ' || min(outcome) FROM inbox_activities");
like($stored, qr/^1 follow/, 'stored once, with what was done');
is(signed('/users/alice/inbox', $follow)->{status}, 202, 'the same again: 202');
is($t->psql("SELECT count(*) FROM inbox_activities") + 0, 1, 'but not stored twice');

my $follow_id = Fedi::Test::json_decode($follow)->{id};
$r = signed('/inbox', activity(type => 'Undo', object => {
    id => $follow_id, type => 'Follow', actor => $MALLORY,
    object => 'https://ours.test/users/alice' }));
is($r->{status}, 202, 'Undo of the Follow, to the shared inbox');
eventually([], 'processed: the follow is gone');

# every rule, broken once: 401, nothing stored

sub refused {
    my ($r, $why, $what) = @_;
    is($r->{status}, 401, "$what: 401");
    like($r->{json}{error} // '', $why, "$what: the error says why");
}

my $before = $t->psql("SELECT count(*) FROM inbox_activities") + 0;
my $body = activity(type => 'Follow', object => 'https://ours.test/users/alice');

refused(signed('/users/alice/inbox', $body, unsigned => 1), qr/not signed/i,
        'no signature');
refused(signed('/users/alice/inbox', $body, key => $other), qr/verif/i,
        'signed with another key');
refused(signed('/users/alice/inbox', $body, signed_body => "$body "),
        qr/digest/i, 'a body that is not the one signed');
refused(signed('/users/alice/inbox', $body,
               date => strftime('%a, %d %b %Y %H:%M:%S GMT', gmtime(time - 2 * 86400))),
        qr/time window/i, 'a date two days old');
refused(signed('/users/alice/inbox', $body, host => 'other.test'), qr/verif/i,
        'signed for another host');
refused(signed('/users/alice/inbox', $body,
               headers => [qw{(request-target) host date}]),
        qr/digest/i, 'a body whose digest is not signed');
refused(signed('/users/alice/inbox', activity(type => 'Follow',
               actor => 'https://peer.test/users/bob',
               object => 'https://ours.test/users/alice')),
        qr/actor/, 'an activity of another actor');
refused(signed('/users/alice/inbox', $body,
               key_id => 'https://peer.test/users/nobody#main-key'),
        qr/actor|fetch/i, 'a key of no actor');
is($t->psql("SELECT count(*) FROM inbox_activities") + 0, $before,
   'nothing of them was stored');
is_deeply(followers(), [], 'nor done');

# over client_body_buffer_size (16k here): nginx keeps the body in its
# temporary file, read back on the thread pool
my $long = activity(type => 'Like', object => 'https://ours.test/users/alice',
                    content => 'x' x (300 * 1024));
$r = signed('/users/alice/inbox', $long);
is($r->{status}, 202, 'a 300 kB activity from the temporary file: 202')
    or diag($r->{body});
is($t->psql("SELECT length(body ->> 'content') FROM inbox_activities"
            . " WHERE uri = '" . Fedi::Test::json_decode($long)->{id} . "'") + 0,
   300 * 1024, 'stored whole');

$r = signed('/users/alice/inbox', activity(type => 'Create',
            object => { id => 'https://peer.test/notes/nul', type => 'Note',
                        attributedTo => $MALLORY, content => "a\x{0}b" }));
is($r->{status}, 400, 'an escaped NUL: 400');
like($r->{json}{error} // '', qr/NUL/, 'saying why');

$r = signed('/users/alice/inbox', '{"actor":"' . $MALLORY . '","x":"'
            . ('a' x (2 * 1024 * 1024)) . '"}');
is($r->{status}, 413, 'a 2 MB activity: 413');

done_testing();
