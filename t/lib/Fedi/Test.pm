package Fedi::Test;

# The integration test harness, in the style of nginx-tests' Test::Nginx:
# each .t file gets a temporary directory, its own database, an nginx.conf
# written from a template, and a real nginx loading the built module on
# loopback ports.  Core Perl only (plus JSON::PP).
#
#   use Fedi::Test;
#   my $t = Fedi::Test->new();                 # workers => 2 by default
#   $t->write_file_expand('nginx.conf', <<'EOF');
#   %%TEST_GLOBALS%%
#   events {}
#   http {
#       %%TEST_GLOBALS_HTTP%%
#       server {
#           listen 127.0.0.1:%%PORT_8080%%;
#           location / { fedi; }
#       }
#   }
#   EOF
#   $t->run()->plan(3);
#   my $r = $t->get('/api/v2/instance');
#   is($r->{status}, 200);  is($r->{json}{version}, ...);
#
# new(workers => 2, domain => ..., https => 'off', rate_limit => 0,
#     no_module => 0); placeholders: %%TEST_GLOBALS%% (load_module, pid,
# error_log, worker_processes, master_process on), %%TEST_GLOBALS_HTTP%%
# (temp paths, access_log, fedi_db, fedi_domain, fedi_https,
# fedi_rate_limit), %%PORT_n%% (a free loopback port per n), %%FEDI_DB%%,
# %%DOMAIN%%, %%TESTDIR%%, %%TOP%%.  Then: run, reload, stop, worker_pids;
# get/post/put/patch/delete/options/http, http_raw, connect, multipart; psql,
# lock_table, wait_for_waiting, start_private_pg, stop_private_pg; spawn.
#
# plan(N) plans N tests plus two the harness adds at the end of the file:
# the error log has no [alert], [crit], [emerg] (nor an AddressSanitizer
# report), and the JSON answers recorded from /api/, /oauth/ and /nodeinfo
# pass t/openapi/validate.mjs (skipped while that script does not exist).
#
# Environment:
#   FEDI_ASAN=1            load build/asan/ngx_fedi_module.so under ASan
#   FEDI_TEST_PGHOST/PORT  the shared test cluster (t/lib/with-test-pg.sh);
#                          without it each file starts a private cluster
#   FEDI_TEST_LEAVE=1      keep the temporary directory
#   FEDI_TEST_LOG_LEVEL    error_log level (default: notice)
#   FEDI_TEST_NGINX        the nginx binary (default: /usr/sbin/nginx)
#   FEDI_TEST_TIMEOUT      seconds a file may run (default: 600)

use strict;
use warnings;

use Carp qw(croak);
use Cwd qw(abs_path);
use Exporter qw(import);
use File::Basename qw(dirname);
use File::Path qw(rmtree);
use File::Temp qw(tempdir);
use IO::Handle;
use IO::Select;
use IO::Socket::INET;
use JSON::PP;
use POSIX qw(WNOHANG);
use Socket qw(SOL_SOCKET SO_LINGER);
use Test::More ();
use Time::HiRes qw(sleep time);

our @EXPORT_OK = qw(json_encode json_decode json_error multipart);

our $TOP = abs_path(dirname(__FILE__) . '/../../..');
our $NGINX = $ENV{FEDI_TEST_NGINX} || '/usr/sbin/nginx';

my $JSON = JSON::PP->new->utf8->canonical->allow_nonref;
my @INSTANCES;


sub json_encode { $JSON->encode($_[0]) }
sub json_decode { $JSON->decode($_[0]) }


# json_error($r): the "error" string of a Mastodon error answer, or undef

sub json_error {
    my ($r) = @_;
    my $j = $r->{json};
    return undef unless ref $j eq 'HASH' && defined $j->{error} && !ref $j->{error};
    return $j->{error};
}


sub new {
    my ($class, %opts) = @_;

    my $dir = tempdir('fedi-test-XXXXXXXX', TMPDIR => 1);

    # nginx workers run as "nobody" when the tests run as root
    chmod 0755, $dir;

    my $self = bless {
        dir      => $dir,
        owner    => $$,
        workers  => $opts{workers} // 2,
        domain   => $opts{domain},
        https    => $opts{https} // 'off',
        ports    => {},
        allowed  => [],
        asan     => $ENV{FEDI_ASAN} ? 1 : 0,
        record   => "$dir/responses.jsonl",
        pg       => undef,
        no_module => $opts{no_module},
        rate_limit => $opts{rate_limit},   # API requests per 5 minutes
        app_name => $opts{app_name},       # sign_up()'s app
    }, $class;

    $self->{module} = $self->{asan}
        ? "$TOP/build/asan/ngx_fedi_module.so"
        : "$TOP/build/ngx_fedi_module.so";

    croak "$self->{module} is missing: run make"
        unless $opts{no_module} || -f $self->{module};

    push @INSTANCES, $self;

    # END blocks stop nginx and drop the database: make sure they run when
    # the file is interrupted or hangs
    if (@INSTANCES == 1) {
        $SIG{INT} = $SIG{TERM} = sub {
            Test::More::diag("interrupted by SIG$_[0]");
            exit 1;
        };
        $SIG{ALRM} = sub {
            Test::More::diag("timed out after $ENV{FEDI_TEST_TIMEOUT}s");
            exit 1;
        };
        $ENV{FEDI_TEST_TIMEOUT} ||= 600;
        alarm $ENV{FEDI_TEST_TIMEOUT};
    }

    return $self;
}


sub testdir { $_[0]{dir} }


# workers(N): worker_processes of the next write_file_expand()

sub workers {
    my ($self, $n) = @_;
    $self->{workers} = $n if defined $n;
    return $self->{workers};
}


# plan(N): N tests of the file plus the harness' two end-of-file checks

sub plan {
    my ($self, $n) = @_;
    Test::More::plan(tests => $n + 2);
    $self->{planned} = 1;
    return $self;
}


sub done_testing {
    my ($self) = @_;
    $self->_checks();
    Test::More::done_testing();
}


# error log lines that are expected and must not fail the file

sub allow_log {
    my ($self, $re) = @_;
    push @{ $self->{allowed} }, $re;
    return $self;
}


### ports

sub port {
    my ($self, $n) = @_;
    return $self->{ports}{$n} //= _free_port();
}


sub _free_port {
    for (1 .. 50) {
        my $s = IO::Socket::INET->new(
            LocalAddr => '127.0.0.1', LocalPort => 0, Proto => 'tcp',
            Listen => 1) or next;
        my $port = $s->sockport;
        close $s;
        return $port;
    }
    croak "no free port";
}


sub waitforsocket {
    my ($self, $port, $timeout) = @_;
    my $end = time + ($timeout // ($self->{asan} ? 30 : 10));

    while (time < $end) {
        my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port",
                                      Proto => 'tcp');
        return 1 if $s;
        sleep 0.05;
    }

    return 0;
}


### PostgreSQL

# The database of this file: made from the shared cluster's template on
# first use, or the private cluster's "fedi" database.

sub _pg {
    my ($self) = @_;

    return $self->{pg} if $self->{pg};

    if (!$ENV{FEDI_TEST_PGHOST}) {
        return $self->start_private_pg()->{pg};
    }

    my $db = sprintf('t_%s_%d_%04x', _file_tag(), $$, int rand 65536);
    my $pg = $self->{pg} = {
        host => $ENV{FEDI_TEST_PGHOST},
        port => $ENV{FEDI_TEST_PGPORT} || 5432,
        db   => $db,
        shared => 1,
    };

    # a concurrent CREATE DATABASE from the same template may be refused
    # while the other one copies it: retry a little
    my $tmpl = $ENV{FEDI_TEST_TEMPLATE} || 'fedi_tmpl';
    my $err;
    for (1 .. 20) {
        $err = $self->_psql_run('postgres',
            "CREATE DATABASE $db TEMPLATE $tmpl OWNER fedi");
        return $pg unless defined $err;
        sleep 0.25;
    }

    $self->{pg} = undef;
    croak "cannot create the test database: $err";
}


sub _file_tag {
    my $name = $0;
    $name =~ s{.*/}{};
    $name =~ s{\.t$}{};
    $name =~ s{[^a-z0-9]+}{_}gi;
    return lc substr($name, 0, 20);
}


sub conninfo {
    my ($self) = @_;
    my $pg = $self->_pg();
    return "host=$pg->{host} port=$pg->{port} dbname=$pg->{db} user=fedi";
}


# A PostgreSQL cluster of this file alone, in its temporary directory, so
# the test can stop and start it.  Calling it again after stop_private_pg()
# starts the same cluster again (the data survive).  Call it before
# write_file_expand() so the configuration points at it.

sub start_private_pg {
    my ($self) = @_;
    my $dir = "$self->{dir}/pg";

    _sh("$TOP/tools/pg.sh", 'start', $dir);

    if (!$self->{pg} || !$self->{pg}{private}) {
        _sh("$TOP/tools/pg.sh", 'migrate', $dir, 'fedi');
        $self->_drop_db() if $self->{pg};
        $self->{pg} = {
            host => "$dir/run",
            port => _slurp("$dir/port") =~ s/\s+//gr,
            db   => 'fedi',
            private => 1,
        };
    }

    return $self;
}


sub stop_private_pg {
    my ($self) = @_;
    croak "no private PostgreSQL" unless $self->{pg} && $self->{pg}{private};
    _sh("$TOP/tools/pg.sh", 'stop', "$self->{dir}/pg");
    return $self;
}


sub _sh {
    my @cmd = @_;
    my $out = `@{[ join ' ', map { _shq($_) } @cmd ]} 2>&1`;
    croak "@cmd: failed:\n$out" if $?;
    return $out;
}


sub _shq {
    my ($s) = @_;
    return $s if $s =~ m{^[\w./:=,+-]+$};
    $s =~ s/'/'\\''/g;
    return "'$s'";
}


sub _psql_cmd {
    my ($self, $db, @extra) = @_;
    my $pg = $self->{pg} // $self->_pg();
    return ('psql', '-X', '-q', '-At', '-v', 'ON_ERROR_STOP=1',
            '-h', $pg->{host}, '-p', $pg->{port}, '-U', 'postgres',
            '-d', $db // $pg->{db}, @extra);
}


# runs SQL; returns undef on success or the error text; output in $out

sub _psql_run {
    my ($self, $db, $sql, $out) = @_;
    my $pg = $self->{pg} // {
        host => $ENV{FEDI_TEST_PGHOST}, port => $ENV{FEDI_TEST_PGPORT},
    };
    my $n = $self->{psqln}++;
    my ($in, $o, $e) = map { "$self->{dir}/psql.$$.$n.$_" } qw(sql out err);

    _write($in, $sql);

    local $ENV{PGOPTIONS} = '-c client_min_messages=warning';
    my @cmd = ('psql', '-X', '-q', '-At', '-v', 'ON_ERROR_STOP=1',
               '-h', $pg->{host}, '-p', $pg->{port}, '-U', 'postgres',
               '-d', $db, '-f', $in);
    system(join(' ', map { _shq($_) } @cmd) . " >$o 2>$e");
    my $failed = $?;

    $$out = _slurp($o) if $out;
    my $err = _slurp($e);
    unlink $in, $o, $e;

    return $failed ? ($err || "psql exited with $failed") : undef;
}


# psql($sql): runs SQL in this file's database as the superuser; returns
# what it prints (-At: unaligned, tuples only), dies on an error.

sub psql {
    my ($self, $sql) = @_;
    my $pg = $self->_pg();
    my $out;
    my $err = $self->_psql_run($pg->{db}, $sql, \$out);
    croak "psql: $err" if defined $err;
    chomp $out;
    return $out;
}


# sign_up($name): a local user, signed up through the API with an app's
# client-credentials token (the app named by new()'s app_name, "tests" by
# default); its access token and account id

sub sign_up {
    my ($self, $name) = @_;

    $self->{app_token} //= do {
        my $app = $self->post('/api/v1/apps', form => {
            client_name => $self->{app_name} // 'tests',
            redirect_uris => 'urn:ietf:wg:oauth:2.0:oob',
            scopes => 'read write follow' })->{json};
        $self->post('/oauth/token', form => {
            grant_type => 'client_credentials', client_id => $app->{client_id},
            client_secret => $app->{client_secret}, scope => 'read write follow',
        })->{json}{access_token};
    };

    my $tok = $self->post('/api/v1/accounts', token => $self->{app_token},
        form => { username => $name, email => "$name\@example.test",
                  password => 'correct horse', agreement => 'true' })
        ->{json}{access_token};
    my $id = $self->get('/api/v1/accounts/verify_credentials', token => $tok)
        ->{json}{id};

    return ($tok, $id);
}


# lock_table($table, $mode): a transaction in a background psql holds the
# lock until ->release; returns once PostgreSQL has granted it.

sub lock_table {
    my ($self, $table, $mode) = @_;
    $mode //= 'ACCESS EXCLUSIVE';

    my $lockmode = join('', map { ucfirst lc } split / /, $mode) . 'Lock';

    return $self->_hold("LOCK TABLE $table IN $mode MODE;",
        "SELECT count(*) FROM pg_locks l"
        . " JOIN pg_class c ON c.oid = l.relation"
        . " WHERE c.relname = '$table' AND l.mode = '$lockmode'"
        . " AND l.granted AND l.database ="
        . " (SELECT oid FROM pg_database"
        . "  WHERE datname = current_database())", "lock on $table");
}


# hold_advisory($name): the same for the transaction-level advisory lock
# pg_advisory_xact_lock(hashtext($name)), as the module's SQL takes it

sub hold_advisory {
    my ($self, $name) = @_;

    return $self->_hold("SELECT pg_advisory_xact_lock(hashtext('$name'));",
        "SELECT count(*) FROM pg_locks l WHERE l.locktype = 'advisory'"
        . " AND l.granted AND l.objid ="
        . " (hashtext('$name')::bigint & 4294967295)::oid",
        "advisory lock $name");
}


sub _hold {
    my ($self, $take, $granted, $what) = @_;

    local $ENV{PGOPTIONS} = '-c client_min_messages=warning';
    my @cmd = $self->_psql_cmd(undef);
    my $pid = open(my $fh, '|-', @cmd) or croak "psql: $!";
    $fh->autoflush(1);
    print $fh "BEGIN;\n$take\n";

    my $end = time + 10;

    while (time < $end) {
        return bless { fh => $fh, pid => $pid }, 'Fedi::Test::Lock'
            if $self->psql($granted) > 0;
        sleep 0.05;
    }

    croak "$what not granted within 10s";
}


# sessions of this database waiting for a lock: the module's queries that
# a lock_table() holds back

sub waiting_queries {
    my ($self) = @_;
    return $self->psql("SELECT count(*) FROM pg_stat_activity"
        . " WHERE datname = current_database()"
        . " AND wait_event_type = 'Lock'");
}


sub wait_for_waiting {
    my ($self, $n, $timeout) = @_;
    my $end = time + ($timeout // 10);

    while (time < $end) {
        return 1 if $self->waiting_queries() >= $n;
        sleep 0.05;
    }

    return 0;
}


sub _drop_db {
    my ($self) = @_;
    my $pg = $self->{pg} or return;
    return unless $pg->{shared};
    $self->_psql_run('postgres',
        "DROP DATABASE IF EXISTS $pg->{db} WITH (FORCE)");
}


### nginx

sub write_file {
    my ($self, $name, $content) = @_;
    _write("$self->{dir}/$name", $content);
    return $self;
}


sub write_file_expand {
    my ($self, $name, $content) = @_;

    $content =~ s/%%TEST_GLOBALS%%/$self->test_globals()/ge;
    $content =~ s/%%TEST_GLOBALS_HTTP%%/$self->test_globals_http()/ge;
    $content =~ s/%%PORT_(\d+)%%/$self->port($1)/ge;
    $content =~ s/%%FEDI_DB%%/$self->conninfo()/ge;
    $content =~ s/%%DOMAIN%%/$self->domain()/ge;
    $content =~ s/%%TESTDIR%%/$self->{dir}/g;
    $content =~ s/%%TOP%%/$TOP/g;

    return $self->write_file($name, $content);
}


# write_default_conf($extra): the usual nginx.conf, one server on the
# 8080 port with `fedi;` at /, and $extra (directives) in http {}

# write_default_conf($http_extra, $server_extra): the usual nginx.conf,
# with more directives at http level and in the server block

sub write_default_conf {
    my ($self, $extra, $server) = @_;
    $extra //= '';
    $server //= '';

    return $self->write_file_expand('nginx.conf', <<"EOF");
%%TEST_GLOBALS%%

events {
}

http {
    %%TEST_GLOBALS_HTTP%%
$extra
    server {
        listen       127.0.0.1:%%PORT_8080%%;
        server_name  localhost;
$server
        location / {
            fedi;
        }
    }
}
EOF
}


sub domain {
    my ($self) = @_;
    return $self->{domain} // '127.0.0.1:' . $self->port(8080);
}


sub test_globals {
    my ($self) = @_;
    my $d = $self->{dir};
    my $level = $ENV{FEDI_TEST_LOG_LEVEL} || 'notice';

    my $load = $self->{no_module} ? '' : "load_module $self->{module};";

    return <<"EOF";
$load

master_process on;
daemon on;
worker_processes $self->{workers};
pid $d/nginx.pid;
error_log $d/error.log $level;
EOF
}


sub test_globals_http {
    my ($self) = @_;
    my $d = $self->{dir};

    my $http = "\n    access_log $d/access.log;\n"
        . join('', map { "    ${_}_temp_path $d/${_}_temp;\n" }
                       qw(client_body proxy fastcgi uwsgi scgi));

    return $http if $self->{no_module};

    return $http
        . "\n    fedi_db \"" . $self->conninfo() . "\";\n"
        . "    fedi_domain " . $self->domain() . ";\n"
        . "    fedi_https $self->{https};\n"
        . "    fedi_rate_limit " . ($self->{rate_limit} // 0) . ";\n"
        . "    fedi_contact_email admin\@example.test;\n";
}


sub _nginx_env {
    my ($self) = @_;
    my %env;

    if ($self->{asan}) {
        my $lib = `gcc -print-file-name=libasan.so`;
        chomp $lib;
        $env{LD_PRELOAD} = $lib;
        $env{ASAN_OPTIONS} = 'detect_leaks=0:abort_on_error=0';
    }

    return %env;
}


sub run {
    my ($self) = @_;
    my $d = $self->{dir};

    croak "$d/nginx.conf missing: write_file_expand it first"
        unless -f "$d/nginx.conf";

    my %env = $self->_nginx_env();
    local @ENV{keys %env} = values %env;

    my $out = `$NGINX -p $d/ -c $d/nginx.conf -e $d/error.log 2>&1`;
    if ($?) {
        $self->_dump_log();
        croak "nginx did not start: $out";
    }

    $self->{running} = 1;

    my $end = time + ($self->{asan} ? 30 : 10);
    sleep 0.02 while !-s "$d/nginx.pid" && time < $end;
    $self->{master} = _slurp("$d/nginx.pid") =~ s/\s+//gr;

    if (exists $self->{ports}{8080}) {
        $self->waitforsocket($self->port(8080))
            or croak "nginx does not listen on " . $self->port(8080);
    }

    return $self;
}


sub master_pid { $_[0]{master} }


# the processes whose parent is the nginx master: its workers (and any
# helper process the module starts)

sub worker_pids {
    my ($self) = @_;
    my $master = $self->{master} or return ();
    my @pids;

    for my $stat (glob '/proc/[0-9]*/stat') {
        open(my $fh, '<', $stat) or next;
        my $line = <$fh> // next;
        close $fh;
        my ($pid, $rest) = $line =~ /^(\d+) \(.*\) (.*)$/s or next;
        my (undef, $ppid) = split / /, $rest;
        push @pids, $pid if $ppid == $master;
    }

    return sort { $a <=> $b } @pids;
}


sub _alive { kill 0, $_[0] }


# reload(): SIGHUP the master, wait for new workers and, unless
# nowait => 1, for every old worker to exit (they finish in-flight
# requests first).  Returns the old workers' pids.

sub reload {
    my ($self, %opts) = @_;
    my @old = $self->worker_pids();
    my %old = map { $_ => 1 } @old;

    kill 'HUP', $self->{master} or croak "cannot signal nginx: $!";

    my $end = time + ($self->{asan} ? 30 : 10);
    while (time < $end) {
        last if grep { !$old{$_} } $self->worker_pids();
        sleep 0.05;
    }

    croak "no new workers after reload"
        unless grep { !$old{$_} } $self->worker_pids();

    $self->wait_exited(\@old, $opts{timeout}) unless $opts{nowait};

    return @old;
}


sub wait_exited {
    my ($self, $pids, $timeout) = @_;
    my $end = time + ($timeout // 30);

    while (time < $end) {
        return 1 unless grep { _alive($_) } @$pids;
        sleep 0.05;
    }

    croak "processes still running: "
        . join(' ', grep { _alive($_) } @$pids);
}


sub stop {
    my ($self) = @_;
    return $self unless $self->{running};

    my $pid = $self->{master};
    $self->{running} = 0;
    return $self unless $pid;

    kill 'QUIT', $pid;

    my $end = time + ($self->{asan} ? 30 : 15);
    while (_alive($pid) && time < $end) {
        sleep 0.05;
    }

    if (_alive($pid)) {
        Test::More::diag("nginx $pid did not quit gracefully: terminating");
        kill 'TERM', $pid;
        sleep 1;
        kill 'KILL', $pid if _alive($pid);
    }

    return $self;
}


### HTTP

# http($method, $path, %opts) -> {status, headers, body, json, raw, elapsed}
#   (elapsed: seconds from connecting to the last byte, before parsing)
#   headers => { name => value } or [ name => value, ... ]
#   body => bytes, json => data (sent as application/json),
#   form => { name => value } (sent urlencoded), token => bearer token,
#   port => port (default the 8080 one), timeout => seconds

sub http {
    my ($self, $method, $path, %o) = @_;
    my $port = $o{port} // $self->port(8080);
    my @h = ref $o{headers} eq 'HASH' ? %{ $o{headers} }
          : @{ $o{headers} // [] };
    my $body = $o{body};

    if (exists $o{json}) {
        $body = json_encode($o{json});
        push @h, 'Content-Type' => 'application/json';
    } elsif ($o{form}) {
        $body = join '&', map { _urlencode($_) . '=' . _urlencode($o{form}{$_}) }
                          sort keys %{ $o{form} };
        push @h, 'Content-Type' => 'application/x-www-form-urlencoded';
    }

    push @h, Authorization => "Bearer $o{token}" if $o{token};

    my %have = map { lc $h[$_ * 2] => 1 } 0 .. int(@h / 2) - 1;
    my $req = "$method $path HTTP/1.1\r\n";
    $req .= "Host: " . $self->domain() . "\r\n" unless $have{host};
    $req .= "Connection: close\r\n";
    $req .= "Content-Length: " . length($body) . "\r\n"
        if defined $body && !$have{'content-length'};

    while (my ($k, $v) = splice @h, 0, 2) {
        $req .= "$k: $v\r\n";
    }

    $req .= "\r\n";
    $req .= $body if defined $body;

    my $start = time;
    my $raw = $self->http_raw($req, port => $port, timeout => $o{timeout});
    my $elapsed = time - $start;
    my $r = parse_response($raw);
    $r->{elapsed} = $elapsed;
    $self->_record($method, $path, $r);
    return $r;
}


# multipart(@parts): a multipart/form-data body and its Content-Type, as
# (body => ..., headers => [...]) for http(); each part [name, value] or
# [name, bytes, filename, type]

sub multipart {
    my (@parts) = @_;
    my $b = 'fedi' . int(rand(1e9)) . 'x';
    my $body = '';

    for my $p (@parts) {
        my ($name, $content, $filename, $type) = @$p;
        $body .= "--$b\r\nContent-Disposition: form-data; name=\"$name\"";
        $body .= "; filename=\"$filename\"" if defined $filename;
        $body .= "\r\n";
        $body .= "Content-Type: $type\r\n" if defined $type;
        $body .= "\r\n$content\r\n";
    }

    $body .= "--$b--\r\n";

    return (body => $body,
            headers => ['Content-Type' => "multipart/form-data; boundary=$b"]);
}


sub get     { my $s = shift; $s->http('GET', @_) }
sub post    { my $s = shift; $s->http('POST', @_) }
sub put     { my $s = shift; $s->http('PUT', @_) }
sub patch   { my $s = shift; $s->http('PATCH', @_) }
sub delete  { my $s = shift; $s->http('DELETE', @_) }
sub options { my $s = shift; $s->http('OPTIONS', @_) }


sub _urlencode {
    my ($s) = @_;
    utf8::encode($s) if utf8::is_utf8($s);
    $s =~ s/([^A-Za-z0-9\-._~])/sprintf('%%%02X', ord $1)/ge;
    return $s;
}


# a connected socket to nginx, for tests that write their own bytes

sub connect {
    my ($self, %o) = @_;
    my $port = $o{port} // $self->port(8080);
    my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port",
                                  Proto => 'tcp');
    croak "connect to $port: $!" unless $s;
    return $s;
}


# http_raw($bytes): sends the bytes, returns everything read until the
# server closes (or the timeout passes)

sub http_raw {
    my ($self, $req, %o) = @_;
    my $timeout = $o{timeout} // ($self->{asan} ? 60 : 30);
    my $s = $self->connect(%o);

    local $SIG{PIPE} = 'IGNORE';
    $s->syswrite($req) if length $req;

    my $sel = IO::Select->new($s);
    my $end = time + $timeout;
    my $buf = '';

    while (1) {
        my $left = $end - time;
        last if $left <= 0;
        last unless $sel->can_read($left);
        my $n = $s->sysread($buf, 65536, length $buf);
        last unless $n;
    }

    close $s;
    return $buf;
}


# parse_response($raw) -> {status, headers => {lc name => value},
#                          header_list => [[name, value], ...], body, json}

sub parse_response {
    my ($raw) = @_;
    my $r = { raw => $raw, status => 0, headers => {}, header_list => [],
              body => '' };

    my ($head, $body) = split /\r\n\r\n/, $raw, 2;
    return $r unless defined $head && $head =~ m{^HTTP/\d\.\d (\d{3})};
    $r->{status} = $1 + 0;

    for my $line (split /\r\n/, $head) {
        next unless $line =~ /^([^:\s]+):\s*(.*?)\s*$/;
        push @{ $r->{header_list} }, [$1, $2];
        my $k = lc $1;
        $r->{headers}{$k} = exists $r->{headers}{$k}
            ? "$r->{headers}{$k}, $2" : $2;
    }

    $body //= '';

    if (($r->{headers}{'transfer-encoding'} // '') =~ /chunked/i) {
        my $out = '';
        while ($body =~ s/^([0-9a-fA-F]+)[^\r\n]*\r\n//) {
            my $len = hex $1;
            last if $len == 0;
            $out .= substr($body, 0, $len, '');
            $body =~ s/^\r\n//;
        }
        $body = $out;
    }

    $r->{body} = $body;

    if (($r->{headers}{'content-type'} // '') =~ m{[/+]json}i
        && length $body)
    {
        $r->{json} = eval { json_decode($body) };
        $r->{json_error} = $@ if $@;
    }

    return $r;
}


# every JSON answer of the client API, for t/openapi/validate.mjs: one
# line {"method","path","query","status","content_type","body"}, with the
# body decoded and the path without its query string

sub _record {
    my ($self, $method, $path, $r) = @_;

    my ($p, $q) = split /\?/, $path, 2;
    return unless $p =~ m{^/(?:api/|oauth/|nodeinfo)};
    return unless exists $r->{json} && !$r->{json_error};

    my $line = json_encode({
        method => $method, path => $p, query => $q // '',
        status => $r->{status},
        content_type => $r->{headers}{'content-type'},
        body => $r->{json},
    }) . "\n";

    open(my $fh, '>>', $self->{record}) or return;
    syswrite $fh, $line;
    close $fh;
}


### concurrency

# spawn(sub { ... }): runs the code in a child process; ->wait returns the
# code's return value (anything JSON can carry).  Children never report
# tests; they return data and the parent checks it.

sub spawn {
    my ($self, $code) = @_;

    pipe(my $r, my $w) or croak "pipe: $!";
    my $pid = fork() // croak "fork: $!";

    if ($pid == 0) {
        close $r;
        my $res = eval { [ $code->() ] };
        $res = [ { died => "$@" } ] unless $res;
        syswrite $w, json_encode($res);
        close $w;
        POSIX::_exit(0);
    }

    close $w;
    return bless { pid => $pid, fh => $r }, 'Fedi::Test::Child';
}


### files

sub read_file {
    my ($self, $name) = @_;
    return _slurp("$self->{dir}/$name");
}


sub error_log { $_[0]->read_file('error.log') }


sub _slurp {
    my ($name) = @_;
    open(my $fh, '<', $name) or return '';
    local $/;
    my $s = <$fh>;
    close $fh;
    return $s // '';
}


sub _write {
    my ($name, $content) = @_;
    open(my $fh, '>', $name) or croak "$name: $!";
    binmode $fh;
    print $fh $content;
    close $fh;
}


sub _dump_log {
    my ($self, $n) = @_;
    # the process bookkeeping at [notice] is noise here
    my @lines = grep { !/^\d{4}\/\d\d\/\d\d [\d:]+ \[(?:notice|info)\]/ }
                split /\n/, $self->error_log();
    $n //= 40;
    @lines = @lines[-$n .. -1] if @lines > $n;
    Test::More::diag("error.log ($self->{dir}):") if @lines;
    Test::More::diag("  $_") for @lines;
}


### end of file

sub _checks {
    my ($self) = @_;
    return if $self->{checked}++;

    $self->stop();

    my @bad;
    for my $line (split /\n/, $self->error_log()) {
        next unless $line =~ /\[(?:alert|crit|emerg)\]/
                 || $line =~ /ERROR: AddressSanitizer|^SUMMARY: \w+Sanitizer/;
        next if grep { $line =~ $_ } @{ $self->{allowed} };
        push @bad, $line;
    }

    Test::More::ok(!@bad, 'error log: no alert, crit, emerg or sanitizer report')
        or Test::More::diag(join "\n", @bad[0 .. ($#bad < 30 ? $#bad : 29)]);

    $self->_openapi_check();

    $self->_dump_log() unless Test::More->builder->is_passing;
}


sub _openapi_check {
    my ($self) = @_;
    my $script = "$TOP/t/openapi/validate.mjs";

    SKIP: {
        Test::More::skip('openapi: t/openapi/validate.mjs not there yet', 1)
            unless -f $script;
        Test::More::skip('openapi: no JSON answers recorded', 1)
            unless -s $self->{record};

        my $out = `node $script $self->{record} 2>&1`;
        my $failed = $? != 0 || $out =~ /^not ok/m;
        # the failures and their explanations, not every passing answer
        my $why = join "\n", grep { /^not ok/ || /^\s*#/ } split /\n/, $out;
        Test::More::ok(!$failed, 'openapi: recorded answers match the schema')
            or Test::More::diag($why || $out);
    }
}


sub _finish {
    my ($self) = @_;
    return if $self->{finished}++;

    if ($self->{planned} && !$self->{checked}) {
        my $tb = Test::More->builder;
        if ($tb->expected_tests && $tb->current_test >= $tb->expected_tests - 2) {
            $self->_checks();
        } else {
            $self->{checked} = 1;
            $self->stop();
            $self->_dump_log();
        }
    }

    $self->stop();
    $self->_drop_db();

    if ($self->{pg} && $self->{pg}{private}) {
        eval { _sh("$TOP/tools/pg.sh", 'destroy', "$self->{dir}/pg") };
    }

    if ($ENV{FEDI_TEST_LEAVE}) {
        Test::More::diag("left $self->{dir}");
    } else {
        rmtree($self->{dir});
    }
}


END {
    my $status = $?;
    for my $t (@INSTANCES) {
        next unless $t->{owner} == $$;
        eval { $t->_finish() };
        Test::More::diag("harness: $@") if $@;
    }
    $? = $status;
}


package Fedi::Test::Lock;

sub release {
    my ($self) = @_;
    return unless $self->{fh};
    my $fh = delete $self->{fh};
    print $fh "COMMIT;\n";
    close $fh;
}

sub DESTROY { $_[0]->release() }


package Fedi::Test::Child;

sub pid { $_[0]{pid} }

sub wait {
    my ($self) = @_;
    my $fh = $self->{fh};
    local $/;
    my $data = <$fh>;
    close $fh;
    waitpid($self->{pid}, 0);
    my $res = eval { Fedi::Test::json_decode($data // '') } // [undef];
    return wantarray ? @$res : $res->[0];
}


1;
