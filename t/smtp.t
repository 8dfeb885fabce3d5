#!/usr/bin/perl

# Sign-up with an SMTP server configured: the account is unconfirmed, a
# mail with a confirmation link goes out (to a small SMTP server this test
# runs on loopback), and the link confirms the address.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use IO::Socket::INET;
use POSIX ();
use Test::More;
use Fedi::Test;

my $t = Fedi::Test->new();

# the SMTP server: one message per connection, appended to a file
my $smtp = IO::Socket::INET->new(LocalAddr => '127.0.0.1:0', Listen => 5,
                                 ReuseAddr => 1) or die "listen: $!";
my $port = $smtp->sockport();
my $mbox = $t->testdir() . '/mbox';

my $pid = fork() // die "fork: $!";

if ($pid == 0) {
    while (my $c = $smtp->accept()) {
        $c->autoflush(1);
        print $c "220 sink.test ESMTP\r\n";
        my ($data, $in_data) = ('', 0);

        while (my $line = <$c>) {
            if ($in_data) {
                if ($line eq ".\r\n") {
                    $in_data = 0;
                    open(my $fh, '>>', $mbox) or die;
                    print $fh $data, "\n--END--\n";
                    close $fh;
                    print $c "250 queued\r\n";
                } else {
                    $data .= $line;
                }
                next;
            }

            if ($line =~ /^(EHLO|HELO)/i) {
                print $c "250 sink.test\r\n";
            } elsif ($line =~ /^(MAIL|RCPT)/i) {
                $data .= $line;
                print $c "250 ok\r\n";
            } elsif ($line =~ /^DATA/i) {
                $in_data = 1;
                print $c "354 go on\r\n";
            } elsif ($line =~ /^QUIT/i) {
                print $c "221 bye\r\n";
                last;
            } else {
                print $c "250 ok\r\n";
            }
        }

        close $c;
    }

    POSIX::_exit(0);
}

$t->write_default_conf(<<"EOF");
    fedi_smtp smtp://127.0.0.1:$port;
    fedi_smtp_from hello\@example.test;
EOF

$t->run();

my $app = $t->post('/api/v1/apps', form => {
    client_name => 'mail', redirect_uris => 'urn:ietf:wg:oauth:2.0:oob',
    scopes => 'read write' })->{json};
my $app_token = $t->post('/oauth/token', form => {
    grant_type => 'client_credentials', client_id => $app->{client_id},
    client_secret => $app->{client_secret}, scope => 'read write',
})->{json}{access_token};

my $r = $t->post('/api/v1/accounts', token => $app_token, form => {
    username => 'erin', email => 'erin@example.test',
    password => 'correct horse', agreement => 'true' });
is($r->{status}, 200, 'sign-up answers at once');
my $token = $r->{json}{access_token};
ok($token, 'with a token');

$r = $t->get('/api/v1/accounts/verify_credentials', token => $token);
is($r->{status}, 403, 'an unconfirmed login');
is($r->{json}{error}, 'Your login is missing a confirmed e-mail address',
   'Mastodon\'s message');

$r = $t->post('/api/v1/accounts', token => $app_token, form => {
    username => 'mallory', email => "m\@example.test\r\nBcc: x\@evil.test",
    password => 'correct horse', agreement => 'true' });
is($r->{status}, 422, 'an address with a line break is refused');

my $mail = '';
for (1 .. 100) {
    $mail = -f $mbox ? do { local (@ARGV, $/) = $mbox; <> } : '';
    last if $mail =~ /--END--/;
    select(undef, undef, undef, 0.1);
}

like($mail, qr/^MAIL FROM:<hello\@example\.test>/mi, 'from the configured sender');
like($mail, qr/^RCPT TO:<erin\@example\.test>/mi, 'to the new address');
like($mail, qr/^Subject: Confirm your e-mail address on /mi, 'a subject');
unlike($mail, qr/evil\.test/, 'nothing for the refused address');
my ($link) = $mail =~ m{(/auth/confirmation\?confirmation_token=[\w-]+)};
ok($link, 'with a confirmation link');

is($t->get('/auth/confirmation?confirmation_token=' . ('x' x 43))->{status},
   404, 'a made-up token confirms nothing');

$r = $t->get($link);
is($r->{status}, 200, 'the link confirms');
like($r->{body}, qr/confirmed/, 'and says so');
is($t->get($link)->{status}, 404, 'once');

$r = $t->get('/api/v1/accounts/verify_credentials', token => $token);
is($r->{json}{username}, 'erin', 'the login works now, on every worker');
$r = $t->get('/api/v1/accounts/verify_credentials', token => $token);
is($r->{status}, 200, 'again');

unlike($t->error_log(), qr/no SMTP server configured/,
       'no "confirmed at once" with SMTP configured');

kill 'TERM', $pid;
waitpid($pid, 0);

$t->done_testing();
