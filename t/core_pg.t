#!/usr/bin/perl

# The database pool under stress: a 1 MB answer, PostgreSQL going away
# and coming back under load, clients leaving while their query waits,
# a reload with queries in flight, and the pool's queue overflowing.
# The file runs its own PostgreSQL cluster so it can stop and start it.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Socket qw(SOL_SOCKET SO_LINGER);
use Test::More;
use Time::HiRes qw(sleep time);
use Fedi::Test qw(json_error);

my $t = Fedi::Test->new()->start_private_pg();
my $slow = $t->{asan} ? 3 : 1;

my $conf = <<'EOF';
%%TEST_GLOBALS%%

events {
}

http {
    %%TEST_GLOBALS_HTTP%%
    %%EXTRA%%

    # the workers' connections and processes are counted here; the
    # delivery process (its own pool) is t/delivery.t's
    fedi_delivery off;

    server {
        listen       127.0.0.1:%%PORT_8080%%;
        server_name  localhost;

        location / {
            fedi;
        }
    }
}
EOF

$t->write_file_expand('nginx.conf', $conf =~ s/%%EXTRA%%//r);
$t->run()->plan(34);

my $emojis = '/api/v1/custom_emojis';

###############################################################################
# (a) a 1 MB answer arrives whole, and quickly

$t->psql(q{
    INSERT INTO custom_emojis
        (shortcode, domain, image_url, static_url, visible_in_picker, category)
    SELECT 'emoji_' || i, NULL,
           'https://media.example.test/custom_emojis/images/000/'
               || i || '/original/' || md5(i::text) || '.png',
           'https://media.example.test/custom_emojis/images/000/'
               || i || '/static/' || md5(i::text) || '.png',
           true, 'category ' || (i % 17)
    FROM generate_series(1, 8000) i
});

my $r = $t->get($emojis);
my $took = $r->{elapsed};

is($r->{status}, 200, '8000 emojis: 200');
cmp_ok(length $r->{body}, '>', 1_000_000, 'the answer is over 1 MB');
is(scalar @{ $r->{json} // [] }, 8000, 'all 8000 emojis, valid JSON');
my %seen = map { $_->{shortcode} => 1 } @{ $r->{json} // [] };
ok($seen{emoji_1} && $seen{emoji_4000} && $seen{emoji_8000},
   'first, middle and last are there');
cmp_ok($took, '<', 0.5 * $slow, "quickly (${\ sprintf '%.3f', $took}s)");

# the same, several at once
my @kids = map { $t->spawn(sub { my $r = $t->get($emojis);
                                 [$r->{status}, scalar @{ $r->{json} // [] }] }) }
           1 .. 4;
is_deeply([map { scalar $_->wait } @kids], [([200, 8000]) x 4],
          '4 concurrent 1 MB answers');

###############################################################################
# (c) clients that leave while their query waits for a lock

my $lock = $t->lock_table('custom_emojis');

my @socks;
for my $i (1 .. 6) {
    my $s = $t->connect();
    $s->syswrite("GET $emojis HTTP/1.1\r\nHost: localhost\r\n\r\n");
    push @socks, $s;
}

ok($t->wait_for_waiting(1), 'queries wait for the lock');

for my $i (0 .. $#socks) {
    # half close politely, half reset the connection
    setsockopt($socks[$i], SOL_SOCKET, SO_LINGER, pack('ii', 1, 0))
        if $i % 2;
    close $socks[$i];
}

sleep 0.5;
$lock->release();

$r = $t->get($emojis);
is($r->{status}, 200, 'after the departed clients: 200');
is(scalar @{ $r->{json} // [] }, 8000, 'after the departed clients: complete');
unlike($t->error_log(), qr/\[alert\]|exited on signal/,
       'departed clients: no alert');

###############################################################################
# (e) reload with queries in flight: they complete, old workers exit

$lock = $t->lock_table('custom_emojis');

@kids = map { $t->spawn(sub { my $r = $t->get($emojis);
                              [$r->{status}, scalar @{ $r->{json} // [] }] }) }
        1 .. 4;

ok($t->wait_for_waiting(1), 'in-flight queries wait for the lock');

my @old = $t->reload(nowait => 1);
ok((grep { kill 0, $_ } @old), 'old workers wait for their requests');

$r = $t->get('/health');
is($r->{status}, 200, 'new workers answer during the reload');

$lock->release();

is_deeply([map { scalar $_->wait } @kids], [([200, 8000]) x 4],
          'in-flight requests complete across the reload');
ok(eval { $t->wait_exited(\@old, 10 * $slow) }, 'old workers exit')
    or diag($@);

# the old workers' database connections are gone with them
my $conns;
for (1 .. 50) {
    $conns = $t->psql(q{SELECT count(*) FROM pg_stat_activity
                        WHERE usename = 'fedi'});
    last if $conns <= 10;
    sleep 0.1;
}
cmp_ok($conns, '<=', 10,
       'no database connections left behind (2 workers x (pool 4 + LISTEN))')
    or diag($t->psql(q{SELECT pid, application_name, state, query
                       FROM pg_stat_activity WHERE usename = 'fedi'}));
unlike($t->error_log(), qr/\[alert\]/, 'reload: no alert');

###############################################################################
# (b) PostgreSQL stops under load: 503 JSON, no crash, then recovery

my $stopfile = $t->testdir() . '/stop-load';
my @load = map {
    $t->spawn(sub {
        my %status;
        until (-e $stopfile) {
            # the status line only: decoding 2 MB of JSON in Perl is slow
            my $raw = $t->http_raw("GET $emojis HTTP/1.0\r\n\r\n",
                                   timeout => 20);
            my ($code) = $raw =~ m{^HTTP/1\.\d (\d+)};
            $code //= 'no answer';
            $status{$code}++;
            $status{'503 without a JSON error'}++
                if $code eq '503'
                   && !defined json_error(Fedi::Test::parse_response($raw));
        }
        return \%status;
    })
} 1 .. 2;

sleep 0.5;
$t->stop_private_pg();

my $down;
for (1 .. 50) {
    $down = $t->get($emojis, timeout => 20);
    last if $down->{status} == 503;
    sleep 0.1;
}
is($down->{status}, 503, 'PostgreSQL down: 503')
    or diag(substr($down->{raw}, 0, 500));
like($down->{headers}{'content-type'} // '', qr{^application/json},
     'PostgreSQL down: JSON');
ok(defined json_error($down), 'PostgreSQL down: error');

$r = $t->get($emojis, timeout => 20);
is($r->{status}, 503, 'still down: 503')
    or diag(substr($r->{raw}, 0, 500));
cmp_ok($r->{elapsed}, '<', 1 * $slow, 'still down: answered at once');

$t->start_private_pg();

my $back;
my $start = time;
while (time - $start < 10 * $slow) {
    $back = $t->get($emojis, timeout => 20);
    last if $back->{status} == 200;
    sleep 0.1;
}
is($back->{status}, 200,
   sprintf('PostgreSQL back: 200 within %.1fs', time - $start));
is(ref $back->{json} eq 'ARRAY' ? scalar @{ $back->{json} } : -1, 8000,
   'PostgreSQL back: complete')
    or diag(substr($back->{raw}, 0, 500));

$t->write_file('stop-load', '');
my %status;
for my $k (@load) {
    my $s = $k->wait // {};
    $status{$_} += $s->{$_} for keys %$s;
}
my $summary = join ', ', map { "$_: $status{$_}" } sort keys %status;

ok($status{200}, "load: answers before and after ($summary)");
ok(!grep({ $_ ne '200' && $_ ne '503' } keys %status),
   'load: only 200 and JSON 503, no resets or 5xx');
unlike($t->error_log(), qr/exited on signal/, 'PostgreSQL down: no crash');

###############################################################################
# (d) the queue overflows: one connection with one query in flight, two
# waiting, the rest refused

$t->workers(1);
$t->write_file_expand('nginx.conf', $conf =~ s/%%EXTRA%%/
    fedi_db_pool 1;
    fedi_db_pipeline 1;
    fedi_db_queue 2;
    fedi_db_queue_timeout 60s;
/r);
$t->reload();
is(scalar(my @w = $t->worker_pids()), 1, 'one worker')
    or diag(`ps -o pid,ppid,cmd --ppid $t->{master}`);

# the one connection is up before the lock
is($t->get($emojis)->{status}, 200, 'pool of one: 200');

$lock = $t->lock_table('custom_emojis');

@kids = map {
    $t->spawn(sub {
        my $r = $t->get($emojis, timeout => 30);
        return [$r->{status}, Time::HiRes::time(),
                defined json_error($r) ? 1 : 0];
    })
} 1 .. 10;

ok($t->wait_for_waiting(1), 'one query waits for the lock');
sleep 1;

my $sessions = $t->psql(q{SELECT pid, state, wait_event_type, left(query, 50)
                          FROM pg_stat_activity WHERE usename = 'fedi'});
my $released = time;
$lock->release();

my @res = map { scalar $_->wait } @kids;
my @odd = grep { ref $_ ne 'ARRAY' } @res;
ok(!@odd, 'overflow: every request answered')
    or diag(Fedi::Test::json_encode(\@odd));
@res = grep { ref $_ eq 'ARRAY' } @res;
my @refused = grep { $_->[0] == 503 } @res;
my @served = grep { $_->[0] == 200 } @res;

ok(@refused >= 7 && @served >= 1 && @served <= 3 && @refused + @served == 10,
   sprintf('overflow: %d refused with 503, %d served',
           scalar @refused, scalar @served))
    or diag("database sessions while the lock was held:\n$sessions\n",
            Fedi::Test::json_encode(\@res));
ok(!grep({ $_->[1] >= $released || !$_->[2] } @refused),
   'overflow: refused at once, with a JSON error');
ok(!grep({ $_->[1] < $released } @served),
   'overflow: the rest served after the lock went');
