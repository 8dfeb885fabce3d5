#!/usr/bin/perl

# OAuth as a browser and as clients perform it: apps, the sign-in and
# consent pages with PKCE, the token endpoint's grants, revocation,
# scopes, sign-up and its modes, and the hostile cases.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Digest::SHA qw(sha256);
use MIME::Base64 qw(encode_base64);
use Test::More;
use Fedi::Test qw(json_decode);

my $t = Fedi::Test->new();

$t->write_default_conf();

$t->run();

my $CB = 'https://app.example/cb';

sub b64url {
    my $s = encode_base64($_[0], '');
    $s =~ tr{+/}{-_};
    $s =~ s/=+$//;
    return $s;
}

sub form_value {
    my ($html, $name) = @_;
    return $html =~ /name="\Q$name\E" value="([^"]*)"/ ? $1 : undef;
}

sub cookies {
    my ($r) = @_;
    my %c;
    for my $h (@{ $r->{header_list} }) {
        next unless lc $h->[0] eq 'set-cookie';
        $c{$1} = $2 if $h->[1] =~ /^([^=]+)=([^;]*)/;
    }
    return %c;
}

sub cookie_header {
    my (%c) = @_;
    return join '; ', map { "$_=$c{$_}" } sort keys %c;
}

sub new_app {
    my (%o) = @_;
    my $r = $t->post('/api/v1/apps', form => {
        client_name => 'test app', redirect_uris => $o{redirect} // $CB,
        scopes => $o{scopes} // 'read write follow',
    });
    return $r->{json};
}

sub app_token {
    my ($app, $scope) = @_;
    my $r = $t->post('/oauth/token', form => {
        grant_type => 'client_credentials', client_id => $app->{client_id},
        client_secret => $app->{client_secret},
        scope => $scope // 'read write follow',
    });
    return $r->{json}{access_token};
}

sub sign_up {
    my ($app, $name, %o) = @_;
    return $t->post('/api/v1/accounts', token => app_token($app), form => {
        username => $name, email => "$name\@example.test",
        password => $o{password} // 'correct horse', agreement => 'true',
        locale => 'en', %{ $o{extra} // {} },
    });
}

sub password_token {
    my ($app, $user, $password, $scope) = @_;
    return $t->post('/oauth/token', form => {
        grant_type => 'password', client_id => $app->{client_id},
        client_secret => $app->{client_secret}, username => $user,
        password => $password, scope => $scope // 'read write follow',
    });
}

# apps

my $app = new_app();
ok(length($app->{client_id} // '') >= 32 && $app->{client_secret},
   'an app has a client id and secret');
is_deeply($app->{scopes}, [qw(read write follow)], 'scopes as a list');
is($app->{redirect_uri}, $CB, 'redirect_uri as a string');

my $r = $t->post('/api/v1/apps', json => {
    client_name => 'multi',
    redirect_uris => ['com.example.app:/cb', 'urn:ietf:wg:oauth:2.0:oob'],
});
is($r->{status}, 200, 'a custom scheme and OOB are accepted');
is_deeply($r->{json}{redirect_uris},
          ['com.example.app:/cb', 'urn:ietf:wg:oauth:2.0:oob'],
          'several redirect URIs');
is($r->{json}{redirect_uri}, "com.example.app:/cb\nurn:ietf:wg:oauth:2.0:oob",
   'redirect_uri joins them with newlines');

for my $bad ('javascript:alert(1)', 'data:text/html,x', 'VBScript:x',
             'not a uri', 'https:')
{
    $r = $t->post('/api/v1/apps', form => {
        client_name => 'bad', redirect_uris => $bad });
    is($r->{status}, 422, "redirect URI '$bad' refused");
}

$r = $t->post('/api/v1/apps', form => { redirect_uris => $CB });
is($r->{status}, 422, 'an app needs a name');
$r = $t->post('/api/v1/apps', form => {
    client_name => 'x', redirect_uris => $CB, scopes => 'read bogus' });
is($r->{status}, 422, 'unknown scopes refused');

$r = $t->get('/api/v1/apps/verify_credentials', token => app_token($app));
is($r->{json}{name}, 'test app', 'apps/verify_credentials');
ok(!exists $r->{json}{client_secret}, 'without the secret');

# sign-up

$r = sign_up($app, 'alice');
is($r->{status}, 200, 'sign-up answers 200');
ok($r->{json}{access_token}, 'with a token');
my $alice_token = $r->{json}{access_token};

$r = $t->get('/api/v1/accounts/verify_credentials', token => $alice_token);
is($r->{json}{username}, 'alice', 'the token is alice\'s');
is($r->{json}{role}{name}, '', 'a plain user');
like($t->error_log(), qr/no SMTP server configured, sign-up of "alice"/,
     'the log says the address was not confirmed by mail');

is(sign_up($app, 'alice')->{json}{details}{username}[0]{error}, 'ERR_TAKEN',
   'a taken username');
$r = sign_up($app, 'ALICE');
is($r->{status}, 422, 'usernames are case-insensitive');
$r = sign_up($app, 'bob', password => 'short');
is($r->{json}{details}{password}[0]{error}, 'ERR_TOO_SHORT',
   'a password under 8 characters');
$r = sign_up($app, 'bob', password => 'x' x 73);
is($r->{json}{details}{password}[0]{error}, 'ERR_TOO_LONG',
   'a password over 72 characters');
$r = sign_up($app, 'bob-x');
is($r->{json}{details}{username}[0]{error}, 'ERR_INVALID',
   'usernames are letters, digits and underscores');
$r = $t->post('/api/v1/accounts', token => app_token($app), form => {
    username => 'bob', email => 'bob@example.test', password => 'correct horse' });
is($r->{json}{details}{agreement}[0]{error}, 'ERR_ACCEPTED',
   'the agreement must be accepted');
$r = $t->post('/api/v1/accounts', form => {
    username => 'bob', email => 'bob@example.test', password => 'correct horse',
    agreement => 'true' });
is($r->{status}, 401, 'sign-up needs an app token');

# the browser flow with PKCE

my $verifier = b64url(join '', map { chr int rand 256 } 1 .. 32);
my $challenge = b64url(sha256($verifier));
my $q = "client_id=$app->{client_id}&redirect_uri=" . Fedi::Test::_urlencode($CB)
    . "&response_type=code&scope=read+write&state=s%20t"
    . "&code_challenge=$challenge&code_challenge_method=S256";

$r = $t->get("/oauth/authorize?$q");
is($r->{status}, 200, 'the sign-in page');
like($r->{headers}{'content-type'}, qr{text/html}, 'is HTML');
like($r->{body}, qr/<form method="post" action="\/oauth\/authorize">/,
     'with a form that posts without JavaScript');
unlike($r->{body}, qr/<script/i, 'and no script');
my %jar = cookies($r);
ok($jar{_fedi_csrf}, 'a CSRF cookie');
my $csrf = form_value($r->{body}, 'authenticity_token');
is($csrf, $jar{_fedi_csrf}, 'the form carries the same token');
is($r->{headers}{'x-frame-options'}, 'DENY', 'the page cannot be framed');

my %form = (
    client_id => $app->{client_id}, redirect_uri => $CB,
    response_type => 'code', scope => 'read write', state => 's t',
    code_challenge => $challenge, code_challenge_method => 'S256',
    authenticity_token => $csrf,
);

$r = $t->post('/oauth/authorize', form => { %form, action => 'sign_in',
    username => 'alice@example.test', password => 'wrong one' },
    headers => { Cookie => cookie_header(%jar) });
is($r->{status}, 401, 'a wrong password');
like($r->{body}, qr/Invalid email or password/, 'says so');

$r = $t->post('/oauth/authorize', form => { %form, action => 'sign_in',
    username => '"><script>alert(1)</script>', password => 'x' },
    headers => { Cookie => cookie_header(%jar) });
unlike($r->{body}, qr/<script>alert/, 'form input is escaped on the page');
like($r->{body}, qr/&quot;&gt;&lt;script&gt;/, 'as text');

$r = $t->post('/oauth/authorize', form => { %form, action => 'sign_in',
    username => 'alice@example.test', password => 'correct horse' },
    headers => { Cookie => 'x=1' });
is($r->{status}, 403, 'a form without the CSRF cookie is refused');

$r = $t->post('/oauth/authorize', form => { %form, action => 'sign_in',
    username => 'alice@example.test', password => 'correct horse' },
    headers => { Cookie => cookie_header(%jar) });
is($r->{status}, 200, 'signed in');
like($r->{body}, qr/would like to access your account <strong>\@alice/,
     'the consent page names the account');
like($r->{body}, qr/<li>read<\/li><li>write<\/li>/, 'and the scopes');
%jar = (%jar, cookies($r));
ok($jar{_fedi_session}, 'a session cookie');

$r = $t->get("/oauth/authorize?$q", headers => { Cookie => cookie_header(%jar) });
like($r->{body}, qr/Authorization required/,
     'with a session the consent page comes at once');
$r = $t->get("/oauth/authorize?$q&force_login=true",
             headers => { Cookie => cookie_header(%jar) });
like($r->{body}, qr/Sign in/, 'force_login asks again');

$r = $t->post('/oauth/authorize', form => { %form, action => 'authorize' },
              headers => { Cookie => cookie_header(%jar) });
is($r->{status}, 302, 'consent redirects');
my ($code) = ($r->{headers}{location} // '') =~ /[?&]code=([^&]+)/;
like($r->{headers}{location}, qr{^\Q$CB\E\?code=[\w-]+&state=s%20t$},
     'to the registered URI with the code and the state');

$r = $t->post('/oauth/token', form => {
    grant_type => 'authorization_code', code => $code, redirect_uri => $CB,
    client_id => $app->{client_id}, client_secret => $app->{client_secret},
    code_verifier => 'not the verifier' });
is($r->{json}{error}, 'invalid_grant', 'a wrong verifier');

$r = $t->post('/oauth/token', json => {
    grant_type => 'authorization_code', code => $code,
    redirect_uri => 'https://app.example/other',
    client_id => $app->{client_id}, client_secret => $app->{client_secret},
    code_verifier => $verifier });
is($r->{json}{error}, 'invalid_grant', 'another redirect URI');

$r = $t->post('/oauth/token', json => {
    grant_type => 'authorization_code', code => $code, redirect_uri => $CB,
    client_id => $app->{client_id}, client_secret => $app->{client_secret},
    code_verifier => $verifier });
is($r->{status}, 200, 'the code and verifier give a token');
is($r->{json}{token_type}, 'Bearer', 'a bearer token');
is($r->{json}{scope}, 'read write', 'with the granted scopes');
like($r->{json}{created_at}, qr/^\d+$/, 'created_at is a number');
my $web_token = $r->{json}{access_token};

$r = $t->post('/oauth/token', json => {
    grant_type => 'authorization_code', code => $code, redirect_uri => $CB,
    client_id => $app->{client_id}, client_secret => $app->{client_secret},
    code_verifier => $verifier });
is($r->{json}{error}, 'invalid_grant', 'a code works once');
ok($r->{json}{error_description}, 'OAuth errors have a description');

$r = $t->get('/api/v1/accounts/verify_credentials', token => $web_token);
is($r->{json}{username}, 'alice', 'the token is alice\'s');

# an expired code

$r = $t->post('/oauth/authorize', form => { %form, action => 'authorize' },
              headers => { Cookie => cookie_header(%jar) });
($code) = ($r->{headers}{location} // '') =~ /[?&]code=([^&]+)/;
$t->psql("UPDATE oauth_access_grants SET expires_at = now() - interval '1s'");
$r = $t->post('/oauth/token', form => {
    grant_type => 'authorization_code', code => $code, redirect_uri => $CB,
    client_id => $app->{client_id}, client_secret => $app->{client_secret},
    code_verifier => $verifier });
is($r->{json}{error}, 'invalid_grant', 'an expired code');

# redirect URIs and scopes at the authorize step

(my $badq = $q) =~ s/redirect_uri=[^&]+/redirect_uri=https%3A%2F%2Fevil.example%2Fcb/;
$r = $t->get("/oauth/authorize?$badq", headers => { Cookie => cookie_header(%jar) });
is($r->{status}, 400, 'an unregistered redirect URI');
ok(!$r->{headers}{location}, 'is never redirected to');

my $narrow = new_app(scopes => 'read');
(my $scopeq = $q) =~ s/client_id=[^&]+/client_id=$narrow->{client_id}/;
$r = $t->get("/oauth/authorize?$scopeq", headers => { Cookie => cookie_header(%jar) });
like($r->{headers}{location} // '', qr/error=invalid_scope/,
     'a scope the app was not given');

$r = $t->post('/oauth/authorize', form => { %form, action => 'deny' },
              headers => { Cookie => cookie_header(%jar) });
like($r->{headers}{location} // '', qr/error=access_denied.*state=s%20t/,
     'deny redirects with access_denied and the state');

# OOB shows the code

my $oob = new_app(redirect => 'urn:ietf:wg:oauth:2.0:oob');
$r = $t->post('/oauth/authorize', form => { %form,
    client_id => $oob->{client_id}, redirect_uri => 'urn:ietf:wg:oauth:2.0:oob',
    action => 'authorize' }, headers => { Cookie => cookie_header(%jar) });
like($r->{body}, qr/<code id="code">[\w-]{43}<\/code>/, 'OOB shows the code');

# the token endpoint

$r = password_token($app, 'alice@example.test', 'correct horse');
is($r->{status}, 200, 'password grant');
my $pw_token = $r->{json}{access_token};

my $basic = encode_base64("$app->{client_id}:$app->{client_secret}", '');
$r = $t->post('/oauth/token', headers => { Authorization => "Basic $basic" },
    form => { grant_type => 'client_credentials', scope => 'read' });
is($r->{json}{scope}, 'read', 'HTTP Basic client credentials');

$r = $t->post('/oauth/token', form => {
    grant_type => 'client_credentials', client_id => $app->{client_id},
    client_secret => 'wrong' });
is($r->{status}, 401, 'a wrong client secret');
is($r->{json}{error}, 'invalid_client', 'is invalid_client');

$r = $t->post('/oauth/token', form => { grant_type => 'implicit',
    client_id => $app->{client_id}, client_secret => $app->{client_secret} });
is($r->{json}{error}, 'unsupported_grant_type', 'an unknown grant');

$r = password_token($narrow, 'alice@example.test', 'correct horse', 'write');
is($r->{json}{error}, 'invalid_scope', 'a scope beyond the app\'s');

# scopes and tokens on the API

my $read_only = password_token($app, 'alice', 'correct horse', 'read')
    ->{json}{access_token};
$r = $t->patch('/api/v1/accounts/update_credentials', token => $read_only,
               form => { display_name => 'x' });
is($r->{status}, 403, 'a read token cannot write');
is($r->{json}{error}, 'This action is outside the authorized scopes',
   'Mastodon\'s message');

$r = $t->get('/api/v1/accounts/verify_credentials');
is($r->{status}, 401, 'no token');
is($r->{json}{error}, 'The access token is invalid', 'Mastodon\'s message');

$r = $t->get('/api/v1/accounts/verify_credentials', token => app_token($app));
is($r->{status}, 422, 'an app token is not a user');

$r = $t->post('/oauth/revoke', form => { client_id => $app->{client_id},
    client_secret => $app->{client_secret}, token => $pw_token });
is($r->{status}, 200, 'revoke answers 200');

# every worker must forget it: ask several times
my @after = map {
    $t->get('/api/v1/accounts/verify_credentials', token => $pw_token)->{status}
} 1 .. 6;
is_deeply(\@after, [(401) x 6], 'a revoked token is refused by every worker');

# discovery

$r = $t->get('/.well-known/oauth-authorization-server');
is_deeply($r->{json}{code_challenge_methods_supported}, ['S256'],
          'discovery advertises S256');
like($r->{json}{token_endpoint}, qr{/oauth/token$}, 'and the token endpoint');

$r = $t->get('/oauth/userinfo', token => $web_token);
is($r->{status}, 403, 'userinfo needs the profile scope');
my $profile = password_token(new_app(scopes => 'profile'), 'alice',
                             'correct horse', 'profile')->{json}{access_token};
$r = $t->get('/oauth/userinfo', token => $profile);
is($r->{json}{preferred_username}, 'alice', 'userinfo with profile');

# registration modes

$t->psql(q{UPDATE settings SET value = '"approved"'
           WHERE key = 'registrations_mode'});
$t->psql(q{SELECT fedi_cache_notify('instance')});
$r = sign_up($app, 'carol');
is($r->{status}, 200, 'approval mode still signs up');
$r = $t->get('/api/v1/accounts/verify_credentials',
             token => $r->{json}{access_token});
is($r->{json}{error}, 'Your login is currently pending approval',
   'but the login waits for approval');

$t->psql(q{UPDATE settings SET value = '"closed"'
           WHERE key = 'registrations_mode'});
$r = sign_up($app, 'dave');
is($r->{status}, 403, 'closed registrations refuse');

$t->psql(q{UPDATE users SET disabled = true WHERE email = 'alice@example.test'});
$t->psql(q{SELECT fedi_cache_notify('user:' || id) FROM users
           WHERE email = 'alice@example.test'});
select(undef, undef, undef, 0.3);
$r = $t->get('/api/v1/accounts/verify_credentials', token => $web_token);
is($r->{json}{error}, 'Your login is currently disabled',
   'a disabled login');
$t->psql(q{UPDATE users SET disabled = false});
$t->psql(q{SELECT fedi_cache_notify('user:' || id) FROM users});

# password guessing

my @codes;
for (1 .. 27) {
    push @codes, password_token($app, 'alice', "guess $_")->{status};
}
is($codes[0], 400, 'a wrong password is invalid_grant');
is($codes[-1], 429, 'a burst of guesses is throttled');
is(password_token($app, 'alice', 'correct horse')->{status}, 429,
   'even the right password, until the window passes');

$t->done_testing();
