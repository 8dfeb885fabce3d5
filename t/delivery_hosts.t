#!/usr/bin/perl

# The delivery process's hosts (ngx_fedi_module/fedi_deliver.c): their
# TLS sessions resumed, their addresses looked up through a DNS server
# that fails, loses answers and is slow (a small one here, fed the lab's
# addresses), no more lookups at a time than fedi_delivery_lookups, and
# hosts idle for fedi_delivery_host_idle forgotten.  The sink
# (t/fedlab/sink.mjs) answers "close*" hosts with Connection: close, so
# every delivery opens a connection, and says whether its TLS session was
# resumed.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use IO::Select;
use IO::Socket::INET;
use Time::HiRes qw(sleep time);
use Fedi::Test;
use Fedi::Lab;

my $lab = Fedi::Lab->new();
$lab->host('ours.test');
my @burst = map { "closeburst$_.test" } 1 .. 8;
my @sinks = ('close.test', 'closeflaky.test', 'closelossy.test', @burst);
$lab->host($_) for @sinks;
$lab->start_dns();
$lab->start_sink(@sinks);


# The DNS server nginx asks: the lab's names, and by the first label
#   closeflaky*  "Server failure" to the first two queries of a name
#   closelossy*  the first query of a name never answered
#   closeburst*  each answer 300 ms late; the most queries awaiting an
#                answer at once is counted
# Its counts go to a file: "name queries" lines, "outstanding N".
my %addr = map { $_ => $lab->address($_) } @sinks;
my $stats = $lab->dir() . '/dns.stats';
my $udp = IO::Socket::INET->new(Proto => 'udp', LocalAddr => '127.0.0.1',
                                LocalPort => 0) or die "udp: $!";
my $dns_port = $udp->sockport();

my $dns_pid = fork() // die "fork: $!";
if ($dns_pid == 0) {
    my (%queries, @late, $max);
    $max = 0;
    my $sel = IO::Select->new($udp);

    my $answer = sub {
        my ($q, $rcode, $ip) = @_;
        my ($id) = unpack 'n', $q;
        my $question = substr($q, 12);
        if (!defined $ip) {
            return pack('nnnnnn', $id, 0x8180 | $rcode, 1, 0, 0, 0) . $question;
        }
        return pack('nnnnnn', $id, 0x8180, 1, 1, 0, 0) . $question
            . pack('nnnNn', 0xc00c, 1, 1, 30, 4)
            . pack('C4', split /\./, $ip);
    };
    my $save = sub {
        open my $fh, '>', "$stats.new" or return;
        print $fh "$_ $queries{$_}\n" for sort keys %queries;
        print $fh "outstanding $max\n";
        close $fh;
        rename "$stats.new", $stats;
    };

    for (;;) {
        my $wait = @late ? ($late[0][0] - time) : 1;
        $wait = 0 if $wait < 0;
        if ($sel->can_read($wait)) {
            my $peer = $udp->recv(my $q, 512);
            next unless defined $peer && length($q) > 17;
            my ($name, $i) = ('', 12);
            while ((my $len = ord substr($q, $i, 1)) > 0) {
                $name .= '.' if length $name;
                $name .= lc substr($q, $i + 1, $len);
                $i += $len + 1;
            }
            my $n = ++$queries{$name};
            my $ip = $addr{$name};
            if (!$ip) {
                $udp->send($answer->($q, 3), 0, $peer);       # NXDOMAIN
            } elsif ($name =~ /^closeflaky/ && $n <= 2) {
                $udp->send($answer->($q, 2), 0, $peer);       # SERVFAIL
            } elsif ($name =~ /^closelossy/ && $n == 1) {
                # lost
            } elsif ($name =~ /^closeburst/) {
                push @late, [time + 0.3, $peer, $answer->($q, 0, $ip)];
                $max = @late if @late > $max;
            } else {
                $udp->send($answer->($q, 0, $ip), 0, $peer);
            }
            $save->();
        }
        while (@late && $late[0][0] <= time) {
            my $l = shift @late;
            $udp->send($l->[2], 0, $l->[1]);
        }
    }
}
close $udp;
END { kill 'TERM', $dns_pid if $dns_pid; }

sub dns_stats {
    open my $fh, '<', $stats or return {};
    my %s = map { split ' ' } <$fh>;
    return \%s;
}


$ENV{FEDI_TEST_LOG_LEVEL} ||= 'info';

my $t = Fedi::Test->new(domain => 'ours.test', https => 'on');
my $ca = $lab->ca();

$t->write_default_conf(<<"EOF", $lab->tls_server('ours.test'));
    resolver 127.0.0.1:$dns_port valid=30s ipv6=off;
    resolver_timeout 5s;
    fedi_outbound_allow 127.0.0.0/8;
    fedi_ssl_trusted_certificate $ca;
    fedi_delivery_timeout 4s;
    fedi_delivery_host_connections 1;
    fedi_delivery_lookups 2;
    fedi_delivery_host_idle 1s;
EOF
$t->run();


sub wait_for { return $lab->wait_for(@_) }
sub sink_got { return $lab->sink_got('close.test', @_) }

# $n followers of account $id, each with an inbox of its own on $host
sub followers {
    my ($id, $host, $n, $prefix) = @_;
    $t->psql("INSERT INTO accounts (username, domain, uri, inbox_url)"
             . " SELECT '$prefix' || g, '$host', 'https://$host/users/$prefix' || g,"
             . " 'https://$host/users/$prefix' || g || '/inbox'"
             . " FROM generate_series(1, $n) g;"
             . " INSERT INTO follows (account_id, target_account_id)"
             . " SELECT id, $id FROM accounts WHERE domain = '$host'"
             . " AND username LIKE '$prefix%'");
}

sub post {
    my ($tok, $text) = @_;
    my $r = $t->post('/api/v1/statuses', token => $tok,
                     form => { status => $text, visibility => 'public' });
    return "https://ours.test/users/" . $r->{json}{account}{username}
           . "/statuses/$r->{json}{id}";
}

sub oid { my ($o) = @_; return ref $o ? $o->{id} // '' : $o // '' }

sub got_post {
    my ($uri, $host) = @_;
    return grep { oid($_->{object}) eq $uri } sink_got(host => $host);
}

sub failures {
    my ($host) = @_;
    return () = $t->error_log() =~ /fedi: delivering to "https:\/\/\Q$host\E/g;
}


# ---- TLS sessions resumed per host ----

my ($alice_tok, $alice_id) = $t->sign_up('alice');
followers($alice_id, 'close.test', 2, 'c');   # claimed together

my $uri = post($alice_tok, 'one');
my @got = wait_for(sub { my @g = got_post($uri, 'close.test'); @g == 2 ? @g : () });
is(scalar @got, 2, 'two deliveries to close.test, a connection each')
    or diag($t->error_log());
ok(!$got[0]{tls_resumed}, 'the first with a full TLS handshake');
ok($got[1]{tls_resumed}, 'the next resumed its TLS session');
ok($got[0]{signed} && $got[1]{signed}, 'both signed');


# ---- idle hosts forgotten ----

my ($gone, $left) = wait_for(sub {
    $t->error_log() =~ /fedi: (\d+) idle delivery hosts forgotten, (\d+) left/ });
ok($gone && $gone >= 1, 'close.test, idle for a second, is forgotten')
    or diag($t->error_log());
is($left, 0, 'and the table is empty again');

$lab->https_get('close.test', '/_lab/reset');
$uri = post($alice_tok, 'two');
@got = wait_for(sub { my @g = got_post($uri, 'close.test'); @g == 2 ? @g : () });
is(scalar @got, 2, 'delivered again, to the host made anew');
ok(!$got[0]{tls_resumed}, 'whose TLS session went with the old one');
ok($got[1]{tls_resumed}, 'and a new session is resumed after it');


# ---- a DNS server that fails a name twice ----

my ($bob_tok, $bob_id) = $t->sign_up('bob');
followers($bob_id, 'closeflaky.test', 1, 'f');
$uri = post($bob_tok, 'flaky');
ok(wait_for(sub { got_post($uri, 'closeflaky.test') }),
   'delivered to a host whose lookups failed twice')
    or diag($t->error_log());
like($t->error_log(), qr/looking up "closeflaky\.test": Server failure, again in \d+ ms/,
     'the lookup was made again, a moment later');
is(failures('closeflaky.test'), 0, 'without a failed delivery to retry later');
is(dns_stats()->{'closeflaky.test'}, 3, 'three queries: two failed, one answered');


# ---- a DNS server that loses an answer ----

followers($bob_id, 'closelossy.test', 1, 'l');
$uri = post($bob_tok, 'lossy');
ok(wait_for(sub { got_post($uri, 'closelossy.test') }),
   'delivered to a host whose first query was never answered')
    or diag($t->error_log());
is(failures('closelossy.test'), 0,
   'asked again before the deadline (4 s; the resolver resends after 5 s)');
is(dns_stats()->{'closelossy.test'}, 2, 'two queries');


# ---- lookups at a time ----

my ($carol_tok, $carol_id) = $t->sign_up('carol');
followers($carol_id, $_, 1, 'b') for @burst;
$uri = post($carol_tok, 'burst');
my $all = wait_for(sub { (grep { got_post($uri, $_) } @burst) == @burst }, 30);
ok($all, 'all eight hosts of a slow DNS server got the post')
    or diag($t->error_log());
my $s = dns_stats();
is(scalar(grep { $s->{$_} } @burst), 8, 'each looked up');
cmp_ok($s->{outstanding}, '<=', 2,
       'never more than fedi_delivery_lookups (2) queries awaiting answers');
is(failures('closeburst'), 0, 'none of them failed');

# close.test twice, closeflaky, closelossy and the eight
my $forgotten = wait_for(sub {
    my ($n, $left, $log) = (0, -1, $t->error_log());
    while ($log =~ /fedi: (\d+) idle delivery hosts forgotten, (\d+) left/g) {
        ($n, $left) = ($n + $1, $2);
    }
    $n >= 12 && $left == 0 ? $n : undef }, 30);
is($forgotten, 12, 'and all these hosts are forgotten too once idle');

$t->done_testing();
