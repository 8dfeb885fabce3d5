#!/usr/bin/perl

# Lists, as Mastodon's: the List entity and its validation, members (only
# followed accounts, or oneself; an unfollow takes them off), another
# user's list is not found, the list timeline filled on write with its
# replies_policy and Link pagination, exclusive lists kept out of the home
# feed, mutes, scopes, and the list stream (server-sent events and
# WebSocket subscriptions) for the owner only.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use IO::Select;
use MIME::Base64 qw(encode_base64);
use Test::More;
use Time::HiRes qw(time);
use Fedi::Test qw(json_decode json_encode);

my $t = Fedi::Test->new(app_name => 'lists');
$t->write_default_conf();
$t->run();

my ($alice, $alice_id) = $t->sign_up('alice');
my ($bob, $bob_id) = $t->sign_up('bob');
my ($carol, $carol_id) = $t->sign_up('carol');
my ($dave, $dave_id) = $t->sign_up('dave');
my ($erin, $erin_id) = $t->sign_up('erin');

for my $id ($bob_id, $carol_id, $erin_id) {
    $t->post("/api/v1/accounts/$id/follow", token => $alice);
}

sub api { $t->get($_[0], token => @_ > 1 ? $_[1] : $alice) }
sub ids { [ map { $_->{id} } @{ $_[0] // [] } ] }
sub post_status {
    my ($token, %j) = @_;
    return $t->post('/api/v1/statuses', token => $token, json => \%j)->{json};
}
sub new_list {
    my (%j) = @_;
    return $t->post('/api/v1/lists', token => $alice, json => \%j)->{json};
}
sub add {
    my ($list, @ids) = @_;
    return $t->post("/api/v1/lists/$list/accounts", token => $alice,
                    json => { account_ids => \@ids });
}
sub timeline {
    ids(api("/api/v1/timelines/list/$_[0]", $_[1] // $alice)->{json})
}
sub home { ids(api('/api/v1/timelines/home?limit=40')->{json}) }
sub has { my ($ids, $id) = @_; scalar grep { $_ eq $id } @$ids }


# ---- the List entity ----

my $r = api('/api/v1/lists');
is($r->{status}, 200, 'lists');
is_deeply($r->{json}, [], 'none at first');

$r = $t->post('/api/v1/lists', token => $alice, json => { title => '  ' });
is($r->{status}, 422, 'a blank title is refused');
is($r->{json}{error}, "Validation failed: Title can't be blank",
   "Mastodon's message");
$r = $t->post('/api/v1/lists', token => $alice, json => {});
is($r->{status}, 422, 'so is none');
$r = $t->post('/api/v1/lists', token => $alice,
              json => { title => 'x', replies_policy => 'everyone' });
is($r->{status}, 422, 'an unknown replies_policy is refused');
is($r->{json}{error}, "'everyone' is not a valid replies_policy",
   "Mastodon's message");
$r = $t->post('/api/v1/lists', token => $alice,
              json => { title => 'x' x 257 });
is($r->{status}, 422, 'a title of 257 characters is refused');
is_deeply(api('/api/v1/lists')->{json}, [], 'nothing was written');

$r = $t->post('/api/v1/lists', token => $alice,
              form => { title => 'Friends' });
is($r->{status}, 200, 'a list from a form');
my $friends = $r->{json};
is_deeply([ @$friends{qw(title replies_policy)} ], ['Friends', 'list'],
          'replies_policy is "list" by default');
ok(defined $friends->{exclusive} && !$friends->{exclusive},
   'exclusive false by default');

my $f = $friends->{id};
$r = $t->put("/api/v1/lists/$f", token => $alice,
             json => { title => 'Pals', replies_policy => 'followed' });
is($r->{status}, 200, 'update');
is_deeply([ @{ $r->{json} }{qw(id title replies_policy)} ],
          [$f, 'Pals', 'followed'], 'title and policy changed');
$r = $t->put("/api/v1/lists/$f", token => $alice,
             json => { replies_policy => 'list' });
is($r->{json}{title}, 'Pals', 'what is not given stays');
is($r->{json}{replies_policy}, 'list', 'what is given changes');
$r = $t->put("/api/v1/lists/$f", token => $alice, json => { title => '' });
is($r->{status}, 422, 'an update cannot blank the title');
is(api("/api/v1/lists/$f")->{json}{title}, 'Pals', 'GET one list');

my $second = new_list(title => 'Second', exclusive => JSON::PP::true(),
                      replies_policy => 'none');
ok($second->{exclusive}, 'exclusive set at creation');
is_deeply(ids(api('/api/v1/lists')->{json}), [$f, $second->{id}],
          'both lists, oldest first');
$r = $t->delete("/api/v1/lists/$second->{id}", token => $alice);
is($r->{status}, 200, 'delete');
is_deeply($r->{json}, {}, 'an empty object');
is(api("/api/v1/lists/$second->{id}")->{status}, 404, 'gone');


# ---- another user's list does not exist for them ----

for my $c (['GET', "/api/v1/lists/$f"], ['PUT', "/api/v1/lists/$f"],
           ['DELETE', "/api/v1/lists/$f"],
           ['GET', "/api/v1/lists/$f/accounts"],
           ['POST', "/api/v1/lists/$f/accounts"],
           ['DELETE', "/api/v1/lists/$f/accounts"],
           ['GET', "/api/v1/timelines/list/$f"])
{
    $r = $t->http($c->[0], $c->[1], token => $bob,
                  json => { title => 'mine', account_ids => [$carol_id] });
    is($r->{status}, 404, "$c->[0] $c->[1]: another user's list, 404");
    is($r->{json}{error}, 'Record not found', '... as Mastodon says it');
}
is(api("/api/v1/lists/$f")->{json}{title}, 'Pals', 'the list is unchanged');
is_deeply(api('/api/v1/lists', $bob)->{json}, [], 'and not among theirs');
is(api('/api/v1/lists/abc')->{status}, 404, 'an id that is no id');
is($t->get('/api/v1/lists')->{status}, 401, 'no token');


# ---- members ----

$r = add($f, $dave_id);
is($r->{status}, 422, 'an account alice does not follow cannot join');
is($r->{json}{error}, 'Validation failed: Account must be a followed account',
   "Mastodon's message");
is(add($f, '999999999')->{status}, 404, 'no such account');
is(add($f, 'abc')->{status}, 404, 'not an id');
$r = add($f, $bob_id, $dave_id);
is($r->{status}, 422, 'one unfollowed account fails the request');
is_deeply(api("/api/v1/lists/$f/accounts")->{json}, [],
          '... and nothing joined (all or none)');

$r = add($f, $bob_id, $carol_id);
is($r->{status}, 200, 'followed accounts join');
is_deeply($r->{json}, {}, 'an empty object');
$r = add($f, $bob_id);
is($r->{status}, 422, 'twice is refused');
is($r->{json}{error}, 'Validation failed: Account has already been taken',
   "Mastodon's message");
is(add($f, $alice_id)->{status}, 200, 'oneself may join');

$r = api("/api/v1/lists/$f/accounts");
is($r->{status}, 200, 'members');
is_deeply([ sort @{ ids($r->{json}) } ],
          [ sort $alice_id, $bob_id, $carol_id ], 'all three');

$r = api("/api/v1/lists/$f/accounts?limit=2");
is(scalar @{ $r->{json} }, 2, 'limit');
my ($next) = ($r->{headers}{link} // '') =~ /<([^>]+)>; rel="next"/;
ok($next, 'a Link to the next page') or diag($r->{headers}{link});
$next =~ s{^https?://[^/]+}{};
my $r2 = api($next);
is(scalar @{ $r2->{json} }, 1, 'the next page has the last one');
my %seen = map { $_ => 1 } @{ ids($r->{json}) }, @{ ids($r2->{json}) };
is(scalar keys %seen, 3, 'the two pages hold every member once');
$r = api("/api/v1/lists/$f/accounts?limit=0");
is(scalar @{ $r->{json} }, 3, 'limit=0: all of them');
ok(!$r->{headers}{link}, '... without a Link');

is_deeply(ids(api("/api/v1/accounts/$bob_id/lists")->{json}), [$f],
          "the lists holding bob");
is_deeply(api("/api/v1/accounts/$dave_id/lists")->{json}, [],
          'none hold dave');
is_deeply(api("/api/v1/accounts/$bob_id/lists", $bob)->{json}, [],
          "bob sees none of alice's lists");
is(api('/api/v1/accounts/999999999/lists')->{status}, 404,
   'no such account');


# ---- the list timeline ----

my $b1 = post_status($bob, status => 'bob one');
my $d1 = post_status($dave, status => 'dave, not followed');
my $e1 = post_status($erin, status => 'erin, followed, not listed');
my $a1 = post_status($alice, status => 'alice herself');

my $tl = timeline($f);
ok(has($tl, $b1->{id}), "a member's post is in the list");
ok(has($tl, $a1->{id}), "one's own post, as a member of one's list");
ok(!has($tl, $e1->{id}), "a followed account off the list is not");
ok(!has($tl, $d1->{id}), 'an unfollowed account is not');

my $boost = $t->post("/api/v1/statuses/$d1->{id}/reblog", token => $bob)
    ->{json};
ok(has(timeline($f), $boost->{id}), "a member's boost is in the list");
my $boost2 = $t->post("/api/v1/statuses/$e1->{id}/reblog", token => $bob)
    ->{json};
ok(!has(home(), $boost2->{id}),
   '(a boost of what the home feed has is not in it)');
ok(has(timeline($f), $boost2->{id}),
   '... but in the list, which has not seen the status');

# replies: to a member, to someone followed off the list, to the owner
my $c_to_bob = post_status($carol, status => '@bob yes',
                           in_reply_to_id => $b1->{id});
my $c_to_erin = post_status($carol, status => '@erin no',
                            in_reply_to_id => $e1->{id});
my $c_to_alice = post_status($carol, status => '@alice hi',
                             in_reply_to_id => $a1->{id});
my $c_self = post_status($carol, status => 'thread',
                         in_reply_to_id => $c_to_bob->{id});

$tl = timeline($f);
ok(has($tl, $c_to_bob->{id}), 'replies_policy list: a reply to a member');
ok(!has($tl, $c_to_erin->{id}),
   'replies_policy list: not a reply to someone off the list');
ok(has($tl, $c_to_alice->{id}), 'a reply to the owner always');
ok(has(home(), $c_to_erin->{id}), '(the home feed has that reply)');

my $fol = new_list(title => 'followed', replies_policy => 'followed');
my $none = new_list(title => 'none', replies_policy => 'none');
add($_->{id}, $carol_id) for $fol, $none;
my $c2_to_erin = post_status($carol, status => '@erin again',
                             in_reply_to_id => $e1->{id});
my $c2_to_bob = post_status($carol, status => '@bob again',
                            in_reply_to_id => $b1->{id});
my $c2_to_alice = post_status($carol, status => '@alice again',
                              in_reply_to_id => $a1->{id});
my $c2_to_dave = post_status($carol, status => '@dave x',
                             in_reply_to_id => $d1->{id});
my $c2_post = post_status($carol, status => 'just a post');

$tl = timeline($fol->{id});
ok(has($tl, $c2_to_erin->{id}), 'followed: a reply to someone followed');
ok(!has($tl, $c2_to_dave->{id}), 'followed: not to someone not followed');
ok(has($tl, $c2_post->{id}), 'followed: a post');
$tl = timeline($none->{id});
ok(!has($tl, $c2_to_erin->{id}) && !has($tl, $c2_to_bob->{id}),
   'none: no reply to others');
ok(has($tl, $c2_to_alice->{id}), 'none: a reply to the owner');
ok(has($tl, $c2_post->{id}), 'none: a post');

# an account joining brings its recent posts along
my $e_list = new_list(title => 'erin');
add($e_list->{id}, $erin_id);
ok(has(timeline($e_list->{id}), $e1->{id}),
   "a new member's recent posts join the list");

# pagination as the home timeline
$r = api("/api/v1/timelines/list/$f?limit=2");
is(scalar @{ $r->{json} }, 2, 'limit');
my $all = timeline($f);
is_deeply(ids($r->{json}), [ @$all[0, 1] ], 'newest first');
like($r->{headers}{link} // '',
     qr{/api/v1/timelines/list/$f\?limit=2&max_id=$all->[1]>; rel="next"},
     'Link next');
like($r->{headers}{link} // '', qr{min_id=$all->[0]>; rel="prev"},
     'Link prev');
is_deeply(ids(api("/api/v1/timelines/list/$f?limit=2&max_id=$all->[1]")
              ->{json}), [ @$all[2, 3] ], 'max_id');
is_deeply(ids(api("/api/v1/timelines/list/$f?limit=2&min_id=$all->[3]")
              ->{json}), [ @$all[1, 2] ], 'min_id: the page above it');
is_deeply(ids(api("/api/v1/timelines/list/$f?since_id=$all->[1]")
              ->{json}), [ $all->[0] ], 'since_id');
$r = api("/api/v1/timelines/list/$f?max_id=1");
is_deeply($r->{json}, [], 'an empty page of one\'s list is []');
ok(!$r->{headers}{link}, '... without a Link');

# mutes: what the owner muted leaves the list timeline
$t->post("/api/v1/accounts/$bob_id/mute", token => $alice);
ok(!has(timeline($f), $b1->{id}), 'a muted member is hidden');
$t->post("/api/v1/accounts/$bob_id/unmute", token => $alice);
ok(has(timeline($f), $b1->{id}), '... and back when unmuted');

# deleted statuses leave it
my $gone = post_status($bob, status => 'to be deleted');
ok(has(timeline($f), $gone->{id}), 'posted');
$t->delete("/api/v1/statuses/$gone->{id}", token => $bob);
ok(!has(timeline($f), $gone->{id}), 'deleted: gone from the list');


# a list deleted takes its feed along; a status removed for good too
ok($t->psql("SELECT count(*) FROM list_feeds WHERE list_id = $fol->{id}") > 0,
   'a list with a feed');
$t->delete("/api/v1/lists/$fol->{id}", token => $alice);
is($t->psql("SELECT count(*) FROM list_feeds WHERE list_id = $fol->{id}"),
   0, 'deleted: its feed rows are gone');
$t->psql("DELETE FROM statuses WHERE id = $c2_post->{id}");
is($t->psql("SELECT count(*) FROM list_feeds"
            . " WHERE status_id = $c2_post->{id}"), 0,
   'a status deleted for good leaves every list feed');


# ---- exclusive lists keep their members out of the home feed ----

my $x = new_list(title => 'exclusive', exclusive => 'true');
add($x->{id}, $erin_id);
my $e2 = post_status($erin, status => 'only in the exclusive list');
ok(has(timeline($x->{id}), $e2->{id}), 'in the exclusive list');
ok(!has(home(), $e2->{id}), 'not in the home feed');
ok(has(timeline($e_list->{id}), $e2->{id}),
   'in a non-exclusive list with her too');
my $a2 = post_status($alice, status => 'mine');
ok(has(home(), $a2->{id}), "one's own posts stay home");
$t->put("/api/v1/lists/$x->{id}", token => $alice,
        json => { exclusive => 'false' });
my $e3 = post_status($erin, status => 'no longer exclusive');
ok(has(home(), $e3->{id}), 'exclusive off: home again');
ok(has(timeline($x->{id}), $e3->{id}), '... and in the list');


# ---- an unfollow takes the account off the owner's lists ----

$t->post("/api/v1/accounts/$carol_id/unfollow", token => $alice);
ok(!has(ids(api("/api/v1/lists/$f/accounts?limit=0")->{json}), $carol_id),
   'carol is off the list');
is_deeply(api("/api/v1/accounts/$carol_id/lists")->{json}, [],
          'off every list');
ok(!has(timeline($f), $c_to_bob->{id}), 'her posts left the list feed');
ok(has(timeline($f), $b1->{id}), "bob's stay");
is(add($f, $carol_id)->{status}, 422, 'not followed: cannot rejoin');

$r = $t->delete("/api/v1/lists/$f/accounts", token => $alice,
                json => { account_ids => [$bob_id, $dave_id] });
is($r->{status}, 200, 'remove members (what is not there is ignored)');
ok(!has(timeline($f), $b1->{id}), "the removed member's posts left");
is_deeply(ids(api("/api/v1/lists/$f/accounts")->{json}), [$alice_id],
          'alice alone');


# ---- accounts alice asked to follow (Mastodon 4.3) ----

my ($frank, $frank_id) = $t->sign_up('frank');
my ($gina, $gina_id) = $t->sign_up('gina');
for my $tok ($frank, $gina) {
    $t->patch('/api/v1/accounts/update_credentials', token => $tok,
              json => { locked => JSON::PP::true() });
}
for my $id ($frank_id, $gina_id) {
    is($t->post("/api/v1/accounts/$id/follow", token => $alice)
       ->{json}{requested}, JSON::PP::true(), 'a follow request');
}
my $req = new_list(title => 'requested');
is(add($req->{id}, $frank_id, $gina_id)->{status}, 200,
   'accounts asked to follow may join');
is(scalar @{ api("/api/v1/lists/$req->{id}/accounts")->{json} }, 2,
   'both are members');
my $g0 = post_status($gina, status => 'before the acceptance');
ok(!has(timeline($req->{id}), $g0->{id}), 'nothing of theirs yet');

$t->post("/api/v1/follow_requests/$alice_id/reject", token => $frank);
$t->post("/api/v1/follow_requests/$alice_id/authorize", token => $gina);
is_deeply(ids(api("/api/v1/lists/$req->{id}/accounts")->{json}),
          [$gina_id],
          'a rejected request leaves the list, an accepted one stays');
my $g1 = post_status($gina, status => 'after the acceptance');
ok(has(timeline($req->{id}), $g1->{id}), 'then her posts reach the list');


# ---- scopes ----

my $app = $t->post('/api/v1/apps', form => {
    client_name => 'narrow', redirect_uris => 'urn:ietf:wg:oauth:2.0:oob',
    scopes => 'read:statuses read:lists write:lists' })->{json};
sub scoped {
    return $t->post('/oauth/token', form => {
        grant_type => 'password', client_id => $app->{client_id},
        client_secret => $app->{client_secret},
        username => 'alice@example.test', password => 'correct horse',
        scope => $_[0] })->{json}{access_token};
}
my $rs = scoped('read:statuses');
ok($rs, 'a token for read:statuses');
is(api('/api/v1/lists', $rs)->{status}, 403, 'read:statuses cannot read lists');
my $rl = scoped('read:lists');
is(api('/api/v1/lists', $rl)->{status}, 200, 'read:lists can');
is($t->post('/api/v1/lists', token => $rl, json => { title => 'n' })
   ->{status}, 403, 'but not write');
my $wl = scoped('write:lists');
is($t->post('/api/v1/lists', token => $wl, json => { title => 'w' })
   ->{status}, 200, 'write:lists can');


# ---- the list stream ----

sub sse_open {
    my ($path, $token) = @_;
    my $s = $t->connect();
    $s->syswrite("GET $path HTTP/1.1\r\nHost: " . $t->domain()
                 . "\r\nAuthorization: Bearer $token\r\n\r\n");
    my $c = { sock => $s, buf => '' };
    my $sel = IO::Select->new($s);
    my $end = time + 10;
    while ($c->{buf} !~ /\r\n\r\n/ && time < $end) {
        last unless $sel->can_read($end - time);
        last unless $s->sysread($c->{buf}, 65536, length $c->{buf});
    }
    ($c->{head}, $c->{buf}) = split /\r\n\r\n/, $c->{buf}, 2;
    $c->{buf} //= '';
    return $c;
}

# the events that came within $quiet seconds of each other
sub sse_events {
    my ($c, $quiet) = @_;
    my $sel = IO::Select->new($c->{sock});
    while ($sel->can_read($quiet // 1.5)) {
        last unless $c->{sock}->sysread($c->{buf}, 65536, length $c->{buf});
    }
    my @e;
    while ($c->{buf} =~ s/event: (\S+)\ndata: (.*)\n\n//) {
        push @e, [$1, $2];
    }
    return @e;
}

my $s = new_list(title => 'stream');
add($s->{id}, $bob_id);

my $mine = sse_open("/api/v1/streaming/list?list=$s->{id}", $alice);
like($mine->{head}, qr{^HTTP/1\.1 200}, "the owner streams her list");
my ($bl) = (new_list(title => 'b'));   # alice's other list, bob not on it
my $other = sse_open("/api/v1/streaming/list?list=$bl->{id}", $alice);
like($other->{head}, qr{^HTTP/1\.1 200}, '... and another list of hers');

$r = $t->get("/api/v1/streaming/list?list=$s->{id}", token => $bob);
is($r->{status}, 401, "bob cannot stream alice's list");
is($r->{json}{error}, 'Not authorized to stream this list',
   "Mastodon's message");
is($t->get('/api/v1/streaming/list', token => $alice)->{status}, 400,
   'no list parameter: 400');
is($t->get('/api/v1/streaming/list?list=999999', token => $alice)->{status},
   401, 'no such list: 401');

sse_events($mine, 0.5);
my $live = post_status($bob, status => 'live on the list');
my @ev = sse_events($mine);
my @up = grep { $_->[0] eq 'update' } @ev;
is(scalar @up, 1, 'one update on the list stream');
is(eval { json_decode($up[0][1])->{id} }, $live->{id}, 'the new status');
is(scalar(grep { $_->[0] eq 'update' } sse_events($other, 0.5)), 0,
   'none on a list without bob');

$t->put("/api/v1/statuses/$live->{id}", token => $bob,
        json => { status => 'live, edited' });
@ev = sse_events($mine);
my @su = grep { $_->[0] eq 'status.update' } @ev;
is(scalar @su, 1, 'status.update on the list stream');
like($su[0][1] // '', qr/live, edited/, 'the edited text');

$t->delete("/api/v1/statuses/$live->{id}", token => $bob);
@ev = grep { $_->[0] eq 'delete' } sse_events($mine);
is_deeply([ map { $_->[1] } @ev ], [ $live->{id} ],
          'delete on the list stream');

my $e_live = post_status($erin, status => 'erin, for bob to boost');
sse_events($mine, 0.5);
my $b_boost = $t->post("/api/v1/statuses/$e_live->{id}/reblog", token => $bob)
    ->{json};
@up = grep { $_->[0] eq 'update' } sse_events($mine);
is(eval { json_decode($up[0][1])->{reblog}{id} }, $e_live->{id},
   "a member's boost on the list stream") or diag(explain(\@up));

my $c_live = post_status($carol, status => 'carol, unfollowed');
is(scalar(grep { $_->[0] eq 'update' } sse_events($mine, 1)), 0,
   'nothing from an account off the list');


# WebSocket subscriptions: the owner's list, not another's

sub ws_open {
    my ($token) = @_;
    my $sock = $t->connect();
    my $key = encode_base64(join('', map { chr int rand 256 } 1 .. 16), '');
    $sock->syswrite("GET /api/v1/streaming HTTP/1.1\r\nHost: "
        . $t->domain() . "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        . "Sec-WebSocket-Key: $key\r\nSec-WebSocket-Version: 13\r\n"
        . "Authorization: Bearer $token\r\n\r\n");
    my $ws = { sock => $sock, buf => '' };
    my $sel = IO::Select->new($sock);
    while ($ws->{buf} !~ /\r\n\r\n/ && $sel->can_read(10)) {
        last unless $sock->sysread($ws->{buf}, 65536, length $ws->{buf});
    }
    ($ws->{head}, $ws->{buf}) = split /\r\n\r\n/, $ws->{buf}, 2;
    $ws->{buf} //= '';
    return $ws;
}

sub ws_frame_text {
    my ($text) = @_;
    my $mask = pack 'N', int rand 0xffffffff;
    my @m = unpack 'C4', $mask;
    my $i = 0;
    return chr(0x81) . chr(0x80 | length $text) . $mask
         . join '', map { chr(ord($_) ^ $m[$i++ % 4]) } split //, $text;
}

sub ws_send_text {
    my ($ws, $text) = @_;
    $ws->{sock}->syswrite(ws_frame_text($text));
}

# the text messages that come within $quiet seconds of each other
sub ws_texts {
    my ($ws, $quiet) = @_;
    my $sel = IO::Select->new($ws->{sock});
    while ($sel->can_read($quiet // 1.5)) {
        last unless $ws->{sock}->sysread($ws->{buf}, 65536,
                                         length $ws->{buf});
    }
    my @m;
    while (length $ws->{buf} >= 2) {
        my ($b0, $len) = unpack 'CC', $ws->{buf};
        my $hl = 2;
        ($len, $hl) = (unpack('n', substr $ws->{buf}, 2, 2), 4)
            if $len == 126;
        last if length $ws->{buf} < $hl + $len;
        my $payload = substr $ws->{buf}, $hl, $len;
        substr($ws->{buf}, 0, $hl + $len) = '';
        push @m, json_decode($payload) if ($b0 & 0x0f) == 1;
    }
    return @m;
}

my $wa = ws_open($alice);
like($wa->{head}, qr{^HTTP/1\.1 101}, 'WebSocket');
# (the id as a JSON number, which Mastodon's server takes too)
ws_send_text($wa, json_encode({ type => 'subscribe', stream => 'list',
                                list => 0 + $s->{id} }));
my $wb = ws_open($bob);
ws_send_text($wb, json_encode({ type => 'subscribe', stream => 'list',
                                list => $s->{id} }));
my @wbm = ws_texts($wb, 1);
is_deeply(\@wbm, [ { error => 'Not authorized to stream this list',
                     status => 401 } ],
          "bob's subscription to alice's list is refused");
ws_texts($wa, 0.5);

my $live2 = post_status($bob, status => 'to the websocket');
my @wam = grep { ($_->{event} // '') eq 'update' } ws_texts($wa);
is(scalar @wam, 1, 'the owner gets the update');
is_deeply($wam[0]{stream}, ['list', $s->{id}], 'on ["list", ID]');
is(eval { json_decode($wam[0]{payload})->{id} }, $live2->{id},
   'the status');
is(scalar(grep { ($_->{event} // '') eq 'update' } ws_texts($wb, 0.5)), 0,
   'bob gets nothing of it');

ws_send_text($wa, json_encode({ type => 'unsubscribe', stream => 'list',
                                list => $s->{id} }));
ws_texts($wa, 0.5);
post_status($bob, status => 'after unsubscribing');
is(scalar(grep { ($_->{event} // '') eq 'update' } ws_texts($wa, 1)), 0,
   'unsubscribed: nothing more');

# a flood of list subscriptions in one write: the queries waiting for
# the database are bounded by the streams a socket may hold
$wb->{sock}->syswrite(join '', map {
    ws_frame_text(json_encode({ type => 'subscribe', stream => 'list',
                                list => $s->{id} }))
} 1 .. 40);
my @flood = ws_texts($wb, 2);
is(scalar @flood, 40, 'every subscription is answered');
ok((grep { ($_->{error} // '') eq 'Too many streams on one connection' }
    @flood) >= 8, 'past the limit, refused before any query');

close $_->{sock} for $mine, $other, $wa, $wb;


# ---- real clients: masto.js and megalodon (t/clients/lists.mjs) ----

my $dir = "$FindBin::Bin/clients";
my $node = "$dir/node_modules/.bin/node";
ok(-x $node, 't/clients is installed (make deps-npm)');
my $for_clients = post_status($bob, status => 'for the clients');
my $base = 'http://127.0.0.1:' . $t->port(8080);
my $out = -x $node
    ? `cd $dir && $node lists.mjs $base $alice $bob_id $for_clients->{id} 2>&1`
    : '';
my $rc = $? >> 8;
my $checks = 0;
for my $line (split /\n/, $out) {
    if ($line =~ /^(not )?ok \d+ - (.*)$/) {
        ok(!$1, $2);
        $checks++;
    } elsif ($line =~ /^#/) {
        diag($line);
    }
}
is($checks, 12, 'the client script ran its checks') or diag($out);
is($rc, 0, 'the client script succeeded');


# ---- fifty lists at most ----

my $n = scalar @{ api('/api/v1/lists')->{json} };
new_list(title => "more $_") for $n + 1 .. 50;
is(scalar @{ api('/api/v1/lists')->{json} }, 50, 'fifty lists');
$r = $t->post('/api/v1/lists', token => $alice,
              json => { title => 'one more' });
is($r->{status}, 422, 'the fifty-first is refused');
is($r->{json}{error},
   'Validation failed: You have reached the maximum number of lists',
   "Mastodon's message");

$t->done_testing();
