#!/usr/bin/perl

# Filters, as Mastodon 4: the v2 API (filters, their keywords and
# statuses) and the v1 view (one filter per keyword), validation, another
# account's filters not found; statuses carry the FilterResults of the
# viewer's matching filters (keywords by whole word or not, Unicode and
# case-insensitive; listed statuses; a boost by what it boosts); "hide"
# drops a status where the filter's context is the place it is shown
# (home, public, notifications, thread, account); expired filters do
# nothing; a change sends filters_changed to the owner's streams only, and
# streamed updates carry the filters too.

use strict;
use warnings;
use utf8;

use FindBin;
use lib "$FindBin::Bin/lib";

use IO::Select;
use Test::More;
use Fedi::Test qw(json_decode);

my $t = Fedi::Test->new(app_name => 'filters');
$t->write_default_conf();
$t->run();

my ($alice, $alice_id) = $t->sign_up('alice');
my ($bob, $bob_id) = $t->sign_up('bob');
my ($carol, $carol_id) = $t->sign_up('carol');

$t->post("/api/v1/accounts/$alice_id/follow", token => $bob);
$t->post("/api/v1/accounts/$carol_id/follow", token => $bob);


# ---- SSE, enough to see events ----

sub sse_open {
    my ($path, $token) = @_;
    my $s = $t->connect();
    $s->syswrite("GET $path HTTP/1.1\r\nHost: " . $t->domain()
                 . "\r\nAuthorization: Bearer $token\r\n\r\n");
    return { sock => $s, buf => '' };
}

# the events that came in the next $quiet seconds of silence
sub sse_events {
    my ($c, $quiet) = @_;
    my $sel = IO::Select->new($c->{sock});
    while ($sel->can_read($quiet // 1.5)) {
        last unless $c->{sock}->sysread($c->{buf}, 65536, length $c->{buf});
    }
    my @e;
    while ($c->{buf} =~ s/event: (\S+)\ndata: (.*)\n\n//) {
        push @e, { event => $1, data => $2 };
    }
    return @e;
}

# a WebSocket on the user stream; its text frames, decoded, that came in
# the next $quiet seconds of silence (the server's frames are not masked)
sub ws_open {
    my ($token) = @_;
    my $s = $t->connect();
    $s->syswrite("GET /api/v1/streaming?stream=user HTTP/1.1\r\nHost: "
                 . $t->domain() . "\r\nUpgrade: websocket\r\n"
                 . "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
                 . "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                 . "Authorization: Bearer $token\r\n\r\n");
    return { sock => $s, buf => '' };
}

sub ws_texts {
    my ($c, $quiet) = @_;
    my $sel = IO::Select->new($c->{sock});
    while ($sel->can_read($quiet // 1.5)) {
        last unless $c->{sock}->sysread($c->{buf}, 65536, length $c->{buf});
    }
    $c->{buf} =~ s/^HTTP.*?\r\n\r\n//s;
    my @m;
    while (length $c->{buf} >= 2) {
        my ($b0, $len) = unpack 'CC', $c->{buf};
        my $hl = $len == 126 ? 4 : 2;
        $len = unpack 'n', substr($c->{buf}, 2, 2) if $len == 126;
        last if length $c->{buf} < $hl + $len;
        my $payload = substr $c->{buf}, $hl, $len;
        substr($c->{buf}, 0, $hl + $len) = '';
        push @m, json_decode($payload) if ($b0 & 0x0f) == 1;
    }
    return @m;
}

# the statuses of the update events that came, by id
sub updates {
    my ($c) = @_;
    return map { my $d = json_decode($_->{data}); ($d->{id} => $d) }
           grep { $_->{event} eq 'update' } sse_events($c);
}

sub post {
    my ($token, $text, %o) = @_;
    my $r = $t->post('/api/v1/statuses', token => $token,
                     json => { status => $text, %o });
    return $r->{json};
}

sub home { $t->get('/api/v1/timelines/home?limit=40', token => $_[0])->{json} }

sub find_status {
    my ($list, $id) = @_;
    my ($s) = grep { $_->{id} eq $id } @$list;
    return $s;
}

sub matches {
    my ($s) = @_;
    return [ sort map { @{ $_->{keyword_matches} // [] } }
             @{ $s->{filtered} // [] } ];
}


# ---- the v2 API ----

my $r = $t->get('/api/v2/filters', token => $bob);
is($r->{status}, 200, 'no filters yet');
is_deeply($r->{json}, [], 'an empty list');

$r = $t->post('/api/v2/filters', token => $bob, json => {
    title => 'Animals', context => ['home', 'public'],
    keywords_attributes => [
        { keyword => 'Cats', whole_word => \1 },
        { keyword => 'dog', whole_word => \0 },
    ] });
is($r->{status}, 200, 'a filter with two keywords');
my $animals = $r->{json};
like($animals->{id}, qr/^\d+$/, 'an id');
is($animals->{title}, 'Animals', 'its title');
is_deeply($animals->{context}, ['home', 'public'], 'its contexts');
is($animals->{filter_action}, 'warn', 'warn by default');
is($animals->{expires_at}, undef, 'no expiry');
is_deeply([ map { [$_->{keyword}, $_->{whole_word} ? 1 : 0] }
            @{ $animals->{keywords} } ], [['Cats', 1], ['dog', 0]],
          'the keywords, whole word or not');
is_deeply($animals->{statuses}, [], 'no statuses');

# the form encoding clients send, Rails' nested keys
$r = $t->post('/api/v2/filters', token => $bob,
    body => 'title=Spoilers&context[]=home&filter_action=hide'
          . '&keywords_attributes[][keyword]=spoilers'
          . '&keywords_attributes[][whole_word]=false&expires_in=3600',
    headers => ['Content-Type' => 'application/x-www-form-urlencoded']);
is($r->{status}, 200, 'a form-encoded filter');
my $spoilers = $r->{json};
is($spoilers->{filter_action}, 'hide', 'a hide filter');
is($spoilers->{keywords}[0]{keyword}, 'spoilers', 'its keyword');
ok(!$spoilers->{keywords}[0]{whole_word}, 'not whole word');
like($spoilers->{expires_at}, qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/,
     'expires_in sets expires_at');

$r = $t->post('/api/v2/filters', token => $bob,
              json => { context => ['home'] });
is($r->{status}, 422, 'no title');
is($r->{json}{error}, "Validation failed: Title can't be blank", 'says so');
$r = $t->post('/api/v2/filters', token => $bob,
              json => { title => 'x', context => ['everywhere'] });
is($r->{status}, 422, 'an unknown context');
is($r->{json}{error},
   'Validation failed: Context None or invalid context supplied', 'says so');
$r = $t->post('/api/v2/filters', token => $bob, json => { title => 'x' });
is($r->{json}{error}, "Validation failed: Context can't be blank, "
   . 'Context None or invalid context supplied', 'no context');
$r = $t->post('/api/v2/filters', token => $bob, json => {
    title => 'x', context => ['home'], filter_action => 'explode' });
is($r->{status}, 422, 'an unknown action');
$r = $t->post('/api/v2/filters', token => $bob, json => {
    title => 'x', context => ['home'],
    keywords_attributes => [{ keyword => '', whole_word => \1 }] });
is($r->{status}, 422, 'a blank keyword');
is(scalar @{ $t->get('/api/v2/filters', token => $bob)->{json} }, 2,
   'and nothing of them written');
$r = $t->post('/api/v2/filters', token => $bob, json => {
    title => 'x', context => ['home'],
    keywords_attributes => [{ id => $animals->{keywords}[0]{id},
                              keyword => 'y' }] });
is($r->{status}, 404, 'a new filter names no keyword');

$r = $t->get("/api/v2/filters/$animals->{id}", token => $bob);
is($r->{json}{title}, 'Animals', 'one filter');
for my $m (qw(get put delete)) {
    is($t->$m("/api/v2/filters/$animals->{id}", token => $carol,
              json => { title => 'mine' })->{status}, 404,
       "another's filter: $m is 404");
}
is($t->get('/api/v2/filters/12x', token => $bob)->{status}, 404,
   'not an id');
is($t->get('/api/v2/filters', token => $carol)->{json}[0], undef,
   "nor listed for another");
is($t->get('/api/v2/filters')->{status}, 401, 'a token is needed');

# scopes: read:filters reads, write:filters writes
my $app = $t->post('/api/v1/apps', form => {
    client_name => 'reader', redirect_uris => 'urn:ietf:wg:oauth:2.0:oob',
    scopes => 'read:filters write:statuses' })->{json};
my $reader = $t->post('/oauth/token', form => {
    grant_type => 'password', client_id => $app->{client_id},
    client_secret => $app->{client_secret}, username => 'bob',
    password => 'correct horse', scope => 'read:filters write:statuses',
})->{json}{access_token};
is(scalar @{ $t->get('/api/v2/filters', token => $reader)->{json} }, 2,
   'read:filters lists them');
is($t->post('/api/v2/filters', token => $reader, json => {
    title => 'x', context => ['home'] })->{status}, 403,
   'but writes nothing');
is($t->delete("/api/v2/filters/$animals->{id}", token => $reader)->{status},
   403, 'nor deletes');
is($t->get('/api/v2/filters', token => $t->{app_token})->{status}, 422,
   'an app token has no user');

# an update: title, a keyword removed, another changed
my ($cats, $dog) = @{ $animals->{keywords} };
$r = $t->put("/api/v2/filters/$animals->{id}", token => $bob, json => {
    title => 'Pets',
    keywords_attributes => [
        { id => $dog->{id}, _destroy => \1 },
        { id => $cats->{id}, keyword => 'cats' },
        { keyword => 'hotdogs', whole_word => \0 },
    ] });
is($r->{status}, 200, 'an update');
is($r->{json}{title}, 'Pets', 'a new title');
is_deeply($r->{json}{context}, ['home', 'public'], 'contexts kept');
is_deeply([ map { $_->{keyword} } @{ $r->{json}{keywords} } ],
          ['cats', 'hotdogs'], 'a keyword gone, one changed, one added');
$r = $t->put("/api/v2/filters/$animals->{id}", token => $bob, json => {
    keywords_attributes => [{ id => $spoilers->{keywords}[0]{id},
                              _destroy => \1 }] });
is($r->{status}, 404, "another filter's keyword");
$r = $t->put("/api/v2/filters/$animals->{id}", token => $bob,
             json => { context => [] });
is($r->{status}, 422, 'contexts cannot all go');

# keywords
my $kw_path = "/api/v2/filters/$animals->{id}/keywords";
$r = $t->get($kw_path, token => $bob);
is(scalar @{ $r->{json} }, 2, 'its keywords');
is($t->get($kw_path, token => $carol)->{status}, 404, 'not for another');
$r = $t->post($kw_path, token => $bob, json => { keyword => 'café' });
is($r->{status}, 200, 'a keyword added');
my $cafe = $r->{json};
ok($cafe->{whole_word}, 'whole word by default');
$r = $t->post($kw_path, token => $bob, json => { keyword => ' ' });
is($r->{status}, 422, 'a blank one refused');
is($r->{json}{error}, "Validation failed: Keyword can't be blank", 'says so');
is($t->post($kw_path, token => $carol, json => { keyword => 'x' })->{status},
   404, "not to another's filter");
$r = $t->get("/api/v2/filters/keywords/$cafe->{id}", token => $bob);
is($r->{json}{keyword}, 'café', 'one keyword');
is($t->get("/api/v2/filters/keywords/$cafe->{id}", token => $carol)
   ->{status}, 404, 'not for another');
$r = $t->post($kw_path, token => $bob, json => { keyword => '日本' });
my $nihon = $r->{json};
$r = $t->post($kw_path, token => $bob, json => { keyword => 'doomed' });
$r = $t->put("/api/v2/filters/keywords/$r->{json}{id}", token => $bob,
             json => { keyword => 'doom', whole_word => 'false' });
is($r->{json}{keyword}, 'doom', 'a keyword changed');
ok(!$r->{json}{whole_word}, 'whole_word from a form-like "false"');
is($t->delete("/api/v2/filters/keywords/$r->{json}{id}", token => $carol)
   ->{status}, 404, "another can't delete it");
$r = $t->delete("/api/v2/filters/keywords/$r->{json}{id}", token => $bob);
is($r->{status}, 200, 'deleted');
is_deeply($r->{json}, {}, 'an empty object');

# statuses
my $listed = post($alice, 'a quite ordinary post');
my $st_path = "/api/v2/filters/$animals->{id}/statuses";
$r = $t->post($st_path, token => $bob, json => { status_id => $listed->{id} });
is($r->{status}, 200, 'a status added');
my $fs = $r->{json};
is($fs->{status_id}, $listed->{id}, 'a FilterStatus');
is($t->post($st_path, token => $bob, json => { status_id => $listed->{id} })
   ->{status}, 422, 'once');
is($t->post($st_path, token => $bob, json => { status_id => '123' })
   ->{status}, 422, 'an unknown status');
my $secret = post($carol, 'for my followers', visibility => 'private');
is($t->post($st_path, token => $alice, json => { status_id => $secret->{id} })
   ->{status}, 404, "not to another's filter");
is($t->get($st_path, token => $bob)->{json}[0]{id}, $fs->{id}, 'listed');
is($t->get("/api/v2/filters/statuses/$fs->{id}", token => $bob)
   ->{json}{status_id}, $listed->{id}, 'one');
is($t->get("/api/v2/filters/statuses/$fs->{id}", token => $carol)
   ->{status}, 404, 'not for another');
is(scalar @{ $t->get("/api/v2/filters/$animals->{id}", token => $bob)
             ->{json}{statuses} }, 1, 'the filter lists it');


# ---- the v1 view: one filter per keyword ----

$r = $t->post('/api/v1/filters', token => $bob, json => {
    phrase => 'crypto', context => ['public'], irreversible => \1,
    whole_word => \1 });
is($r->{status}, 200, 'a v1 filter');
my $crypto = $r->{json};
is($crypto->{phrase}, 'crypto', 'its phrase');
ok($crypto->{irreversible}, 'irreversible');
ok($crypto->{whole_word}, 'whole word');
is_deeply($crypto->{context}, ['public'], 'its context');
my ($v2) = grep { $_->{title} eq 'crypto' }
           @{ $t->get('/api/v2/filters', token => $bob)->{json} };
is($v2->{filter_action}, 'hide', 'a v2 filter that hides');
is($v2->{keywords}[0]{id}, $crypto->{id}, 'its keyword is the v1 filter');

$r = $t->get('/api/v1/filters', token => $bob);
my %v1 = map { $_->{phrase} => $_ } @{ $r->{json} };
ok($v1{cats} && $v1{hotdogs} && $v1{spoilers} && $v1{crypto},
   'every keyword is a v1 filter');
is_deeply($v1{cats}{context}, ['home', 'public'], 'with its filter\'s context');
ok(!$v1{spoilers}{whole_word} && $v1{spoilers}{expires_at},
   'whole_word and expiry');
is($t->get("/api/v1/filters/$crypto->{id}", token => $carol)->{status}, 404,
   "another's is not found");
is($t->post('/api/v1/filters', token => $bob, json => {
    phrase => 'x', context => ['nowhere'] })->{status}, 422,
   'an unknown context');

$r = $t->put("/api/v1/filters/$crypto->{id}", token => $bob, json => {
    phrase => 'crypto', context => ['public', 'thread'] });
is_deeply($r->{json}{context}, ['public', 'thread'], 'v1 update');
$r = $t->put("/api/v1/filters/$v1{cats}{id}", token => $bob, json => {
    context => ['home'] });
is($r->{status}, 422, "a context shared by other keywords can't change");
like($r->{json}{error}, qr/more than one filter keyword/, 'says why');
$r = $t->put("/api/v1/filters/$v1{cats}{id}", token => $bob, json => {
    phrase => 'cats', whole_word => \1 });
is($r->{status}, 200, 'its phrase can');

my $tmp = $t->post('/api/v1/filters', token => $bob, json => {
    phrase => 'ephemeral', context => ['home'] })->{json};
$r = $t->delete("/api/v1/filters/$tmp->{id}", token => $bob);
is($r->{status}, 200, 'v1 delete');
my ($left) = grep { $_->{title} eq 'ephemeral' }
             @{ $t->get('/api/v2/filters', token => $bob)->{json} };
is_deeply($left->{keywords}, [], 'removes the keyword, not the filter');
is($t->delete("/api/v2/filters/$left->{id}", token => $bob)->{status}, 200,
   'v2 delete');
is($t->get("/api/v2/filters/$left->{id}", token => $bob)->{status}, 404,
   'gone');


# ---- statuses carry the filters that match ----

my $s = post($alice, 'I love CATS and the concatenation of strings');
my $h = find_status(home($bob), $s->{id});
is(scalar @{ $h->{filtered} }, 1, 'a match in the home timeline');
is($h->{filtered}[0]{filter}{id}, $animals->{id}, 'of that filter');
is($h->{filtered}[0]{filter}{title}, 'Pets', 'as a Filter');
ok(!exists $h->{filtered}[0]{filter}{keywords}, 'without its keywords');
is_deeply($h->{filtered}[0]{keyword_matches}, ['CATS'],
          'the text matched, as written');
is_deeply($h->{filtered}[0]{status_matches}, [],
          'no status of the filter matched');
$r = $t->get("/api/v1/statuses/$s->{id}", token => $carol);
is_deeply($r->{json}{filtered}, [], "another viewer's filters are theirs");
$r = $t->get("/api/v1/statuses/$s->{id}", token => $bob);
is(scalar @{ $r->{json}{filtered} }, 1, 'a status alone too');

$s = post($alice, 'concatenation only, and catsup');
is_deeply(find_status(home($bob), $s->{id})->{filtered}, [],
          'a whole word is not found inside words');
$s = post($alice, 'I had HOTDOGS');
is_deeply(matches(find_status(home($bob), $s->{id})), ['HOTDOGS'],
          'a keyword that is not whole word is found anywhere');
$s = post($alice, 'mainhotdogsbar');
is_deeply(matches(find_status(home($bob), $s->{id})), ['hotdogs'],
          'even inside a word');
$s = post($alice, 'Un CAFÉ noir');
is_deeply(matches(find_status(home($bob), $s->{id})), ['CAFÉ'],
          'Unicode, case-insensitive');
$s = post($alice, 'deux cafés');
is_deeply(find_status(home($bob), $s->{id})->{filtered}, [],
          'a letter after é is no word boundary');
$s = post($alice, '日本語を話す');
is_deeply(find_status(home($bob), $s->{id})->{filtered}, [],
          'nor between ideographs');
$s = post($alice, 'to 日本 today');
is_deeply(matches(find_status(home($bob), $s->{id})), ['日本'],
          'a whole word in another script');
$s = post($alice, 'hidden behind', spoiler_text => 'about cats');
is_deeply(matches(find_status(home($bob), $s->{id})), ['cats'],
          'the content warning is searched');
$s = post($alice, 'Which pet?', poll => { options => ['cats', 'fish'],
                                          expires_in => 3600 });
is_deeply(matches(find_status(home($bob), $s->{id})), ['cats'],
          'poll options are searched');
$s = post($alice, 'a &amp; b <cats>');
is_deeply(matches(find_status(home($bob), $s->{id})), ['cats'],
          'in the text as written, not its HTML');

$h = find_status(home($bob), $listed->{id});
is_deeply($h->{filtered}[0]{status_matches}, [$listed->{id}],
          'a listed status matches by id');
is($h->{filtered}[0]{keyword_matches}, undef, 'and by no keyword');

# a boost is matched by what it boosts, and both say so
my $cats_post = post($alice, 'more cats');
$r = $t->post("/api/v1/statuses/$cats_post->{id}/reblog", token => $carol);
$h = $t->get("/api/v1/statuses/$r->{json}{id}", token => $bob)->{json};
is($h->{reblog}{id}, $cats_post->{id}, 'a boost');
is_deeply(matches($h), ['cats'], 'carries the match');
is_deeply(matches($h->{reblog}), ['cats'], 'and its boosted status');


# ---- hide: where the filter's context is the place ----

$s = post($alice, 'spoilers ahead');
ok(!find_status(home($bob), $s->{id}), 'hidden from the home timeline');
$r = $t->get('/api/v1/timelines/public?limit=40', token => $bob);
$h = find_status($r->{json}, $s->{id});
ok($h, 'but not from the public timeline: not its context');
is($h->{filtered}[0]{filter}{filter_action}, 'hide',
   'where it still says which filter matched');
ok(find_status($t->get('/api/v1/timelines/public?limit=40',
                       token => $carol)->{json}, $s->{id}), 'others see it');

$s = post($alice, 'crypto news');
ok(!find_status($t->get('/api/v1/timelines/public?limit=40',
                        token => $bob)->{json}, $s->{id}),
   'a public hide filter: not in the public timeline');
ok(find_status(home($bob), $s->{id}), 'in the home timeline');
my $tag = post($alice, 'crypto #coins');
ok(!find_status($t->get('/api/v1/timelines/tag/coins', token => $bob)
                ->{json}, $tag->{id}), 'nor in a hashtag timeline (public)');
ok(find_status($t->get('/api/v1/timelines/tag/coins', token => $carol)
               ->{json}, $tag->{id}), 'which others see');

# the thread context: its descendants
$t->post('/api/v2/filters', token => $bob, json => {
    title => 'Threads', context => ['thread'], filter_action => 'hide',
    keywords_attributes => [{ keyword => 'offtopic' }] });
my $root = post($alice, 'a thread');
my $reply = post($carol, 'offtopic reply', in_reply_to_id => $root->{id});
my $ok_reply = post($carol, 'a fine reply', in_reply_to_id => $root->{id});
$r = $t->get("/api/v1/statuses/$root->{id}/context", token => $bob);
is_deeply([ map { $_->{id} } @{ $r->{json}{descendants} } ],
          [$ok_reply->{id}], 'hidden from a thread');
$r = $t->get("/api/v1/statuses/$root->{id}/context", token => $carol);
is(scalar @{ $r->{json}{descendants} }, 2, 'not for others');
ok(find_status(home($bob), $reply->{id}), 'nor from home');

# an account's statuses
$t->post('/api/v2/filters', token => $bob, json => {
    title => 'Profiles', context => ['account'], filter_action => 'hide',
    keywords_attributes => [{ keyword => 'tuesday' }] });
$s = post($alice, 'tuesday again');
ok(!find_status($t->get("/api/v1/accounts/$alice_id/statuses",
                        token => $bob)->{json}, $s->{id}),
   "hidden from the account's statuses");
ok(find_status(home($bob), $s->{id}), 'but home has it');

# notifications
$t->post('/api/v2/filters', token => $bob, json => {
    title => 'Pings', context => ['notifications'], filter_action => 'hide',
    keywords_attributes => [{ keyword => 'pizza' }] });
my $m1 = post($alice, '@bob pizza tonight?');
my $m2 = post($alice, '@bob and cats?');
$r = $t->get('/api/v1/notifications?types[]=mention', token => $bob);
my @ids = map { $_->{status}{id} } @{ $r->{json} };
ok(!grep({ $_ eq $m1->{id} } @ids), 'hidden from notifications');
my ($n2) = grep { $_->{status}{id} eq $m2->{id} } @{ $r->{json} };
ok($n2, 'another mention is there');
is_deeply(matches($n2->{status}), ['cats'], 'with its warning');
$r = $t->get('/api/v2/notifications?types[]=mention', token => $bob);
my %groups = map { ($_->{status_id} // '') => 1 }
             @{ $r->{json}{notification_groups} };
ok(!$groups{$m1->{id}} && $groups{$m2->{id}},
   'grouped notifications (v2) leave it out too');
ok(!grep({ $_->{id} eq $m1->{id} } @{ $r->{json}{statuses} }),
   'and its status');

# expiry
$t->psql("UPDATE custom_filters SET expires_at = now() - interval '1 minute'"
         . " WHERE id = $animals->{id}");
$s = post($alice, 'cats after all');
is_deeply(find_status(home($bob), $s->{id})->{filtered}, [],
          'an expired filter matches nothing');
$t->psql("UPDATE custom_filters SET expires_at = NULL"
         . " WHERE id = $animals->{id}");


# ---- streams ----

my $bob_ws = ws_open($bob);
my $bob_user = sse_open('/api/v1/streaming/user', $bob);
my $bob_public = sse_open('/api/v1/streaming/public', $bob);
my $carol_user = sse_open('/api/v1/streaming/user', $carol);
my $carol_public = sse_open('/api/v1/streaming/public', $carol);
sse_events($_, 0.5) for $bob_user, $bob_public, $carol_user, $carol_public;
ws_texts($bob_ws, 0.5);

$r = $t->post('/api/v2/filters', token => $bob, json => {
    title => 'Weather', context => ['home'], filter_action => 'warn',
    keywords_attributes => [{ keyword => 'rain' }, { keyword => 'snow' }] });
my @e = sse_events($bob_user);
is_deeply([ grep { $_->{event} eq 'filters_changed' } @e ],
          [{ event => 'filters_changed', data => 'undefined' }],
          "filters_changed on the owner's stream, once for a filter and "
          . 'its keywords');
is_deeply([ grep { $_->{event} eq 'filters_changed' } ws_texts($bob_ws) ],
          [{ stream => ['user'], event => 'filters_changed' }],
          'on a WebSocket: no payload at all');
is(scalar(grep { $_->{event} eq 'filters_changed' } sse_events($carol_user)),
   0, 'not on another account\'s');
is(scalar(grep { $_->{event} eq 'filters_changed' } sse_events($bob_public)),
   0, 'nor on a public stream');

$s = post($alice, 'rain tomorrow');
my $hidden = post($alice, 'spoilers in the stream');
my $crypto2 = post($alice, 'more crypto');
my $plain = post($alice, 'nothing to see');
my %got = updates($bob_user);
is_deeply(matches($got{$s->{id}}), ['rain'],
          'a streamed update carries the new filter');
ok(!$got{$hidden->{id}}, 'a hidden one is not sent');
ok($got{$plain->{id}}, 'others are');
is_deeply($got{$plain->{id}}{filtered}, [], 'unfiltered');
ok($got{$crypto2->{id}}, 'a public hide filter lets it home');

%got = updates($bob_public);
ok(!$got{$crypto2->{id}}, 'but not into the public stream');
ok($got{$hidden->{id}}, 'where the home filter does not hide');
%got = updates($carol_public);
ok($got{$crypto2->{id}}, 'others still get it');
is_deeply($got{$s->{id}}{filtered}, [], 'without bob\'s filters');

# a deleted filter: the stream forgets it
$t->delete("/api/v2/filters/$r->{json}{id}", token => $bob);
is(scalar(grep { $_->{event} eq 'filters_changed' } sse_events($bob_user)),
   1, 'a deletion is a change');
$s = post($alice, 'rain again');
%got = updates($bob_user);
is_deeply($got{$s->{id}}{filtered}, [], 'and no longer matches');

done_testing();
