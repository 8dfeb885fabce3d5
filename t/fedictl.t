#!/usr/bin/perl

# fedictl, the operator's tool: migrations from an empty database (two
# migrators at once, then again: nothing to do), their status, a failing
# migration leaving nothing behind, how it finds the database, and
# `fedictl db check`: every statement of the module's table prepares
# against the migrated schema.  That last one is the test that keeps
# fedi_sql_table.h and sql/ in step.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use File::Path qw(make_path);
use POSIX qw(_exit);
use Test::More;
use Fedi::Test;

my $FEDICTL = "$Fedi::Test::TOP/build/fedictl";
plan(skip_all => "$FEDICTL is missing: run make") unless -x $FEDICTL;

my $t = Fedi::Test->new(no_module => 1);
my $dir = $t->testdir();
my $conninfo = $t->conninfo();
my ($db) = $conninfo =~ /dbname=(\S+)/;
my @files = map { s{.*/}{}r }
            glob("$Fedi::Test::TOP/sql/[0-9][0-9][0-9][0-9]_*.sql");
my %made;         # databases new_db() made
my $runs = 0;

END {
    eval { $t->psql("DROP DATABASE IF EXISTS $_ WITH (FORCE)") }
        for keys %made;
}

plan(tests => 37);

ok(@files > 0, 'there are migrations in sql/');

# the command line

my $r = fedictl('help');
exits($r, 0, 'help');
like($r->{out}, qr/db migrate.*db status.*db check/s, 'help lists db commands');

exits(fedictl(), 2, 'no command: usage');
exits(fedictl('db', 'frobnicate'), 2, 'unknown command: usage');
exits(fedictl('--no-such-option', 'db', 'status'), 2, 'unknown option: usage');
exits(fedictl('db', 'migrate', 'extra'), 2, 'extra argument: usage');

# an empty database, migrated

my $fresh = new_db('fresh');

$r = fedictl('--db', $fresh, 'db', 'status');
exits($r, 1, 'status of an empty database: pending, exit 1');
is(scalar(() = $r->{out} =~ /^pending  \d{4}_\S+\.sql$/mg), scalar @files,
   'every migration is pending');

$r = fedictl('--db', $fresh, 'db', 'check');
exits($r, 1, 'db check fails on an empty database');
like($r->{out}, qr/^not ok 1 - \w+\n# ERROR: /m,
     'db check: the failure and PostgreSQL\'s error as TAP');

# two migrators at once: the advisory lock makes one wait for the other
my @both = map { finish($_) }
           (start('--db', $fresh, 'db', 'migrate'),
            start('--db', $fresh, 'db', 'migrate'));
exits($both[0], 0, 'first concurrent migrate');
exits($both[1], 0, 'second concurrent migrate');
is_deeply([ sort join('', map { $_->{out} } @both) =~ /^applied  (\S+)$/mg ],
          [ sort @files ], 'each migration applied exactly once');

$r = fedictl('--db', $fresh, 'db', 'migrate');
exits($r, 0, 'migrate again');
unlike($r->{out}, qr/^applied/m, 'migrate again applies nothing');
like($r->{out}, qr/up to date/, 'migrate again says the schema is up to date');

$r = fedictl('--db', $fresh, 'db', 'status');
exits($r, 0, 'status after migrate: exit 0');
like($r->{out}, qr/^\d+ applied, 0 pending$/m, 'status: no pending');

is(sql($fresh, "SELECT string_agg(version, ' ' ORDER BY version)"
               . " FROM schema_migrations"),
   join(' ', map { substr($_, 0, 4) } @files),
   'schema_migrations holds every version, as NNNN');

{
    local $ENV{FEDI_DB} = $fresh;
    exits(fedictl('db', 'status'), 0,
          'FEDI_DB names the database when --db does not');
}

# every statement of the module prepares against the migrated schema

$r = fedictl('--db', $fresh, 'db', 'check');
exits($r, 0, 'db check passes on the migrated schema');
my ($n) = $r->{out} =~ /^1\.\.(\d+)$/m;
ok($n && $n > 0, 'db check plans its statements (' . ($n // 0) . ')');
is(scalar(() = $r->{out} =~ /^ok \d+ - \w+$/mg), $n,
   'db check: every statement ok');
unlike($r->{out}, qr/^not ok/m, 'db check: none not ok');

# the test database, migrated by tools/pg.sh, agrees

exits(fedictl('--db', $conninfo, 'db', 'status'), 0,
      'the test database has no pending migration');

# a failing migration leaves neither its changes nor its record

my $sql = "$dir/sql";
make_path($sql);
write_text("$sql/0001_good.sql", "CREATE TABLE fedictl_good (id int);\n");
write_text("$sql/0002_bad.sql",
           "CREATE TABLE fedictl_bad (id int);\nSELECT no_such_column;\n");
write_text("$sql/0010_later.sql", "CREATE TABLE fedictl_later (id int);\n");
write_text("$sql/README", "not a migration\n");

my $broken = new_db('broken');

$r = fedictl('--db', $broken, '--sql', $sql, 'db', 'migrate');
exits($r, 1, 'a failing migration: exit 1');
like($r->{err}, qr/0002_bad\.sql failed.*no_such_column/s,
     'the error names the file and PostgreSQL\'s reason');
is($r->{out}, "applied  0001_good.sql\n",
   'the migration before it applied, none after it');
is(sql($broken, "SELECT to_regclass('fedictl_good') IS NOT NULL,"
                . " to_regclass('fedictl_bad') IS NULL,"
                . " (SELECT string_agg(version, ' ') FROM schema_migrations)"),
   't|t|0001', 'the failed migration left no table and no record');

$r = fedictl('--db', $broken, '--sql', $sql, 'db', 'status');
exits($r, 1, 'status: pending, exit 1');
like($r->{out}, qr/^applied  0001_good\.sql  \S/m, 'status: the good one applied');
like($r->{out}, qr/^pending  0002_bad\.sql\npending  0010_later\.sql\n/m,
     'status: the failed one and the one after it pending, in order');
like($r->{out}, qr/^1 applied, 2 pending\n\z/m, 'status: the count');

# the embedded instance: the socket in FEDI_VAR/pg/run, the port in
# FEDI_VAR/pg/port (tools/pg.sh's layout)

{
    my ($host) = $conninfo =~ /host=(\S+)/;
    my ($port) = $conninfo =~ /port=(\d+)/;
    make_path("$dir/var/pg");
    symlink($host, "$dir/var/pg/run") or die "symlink: $!";
    write_text("$dir/var/pg/port", "$port\n");

    local $ENV{FEDI_VAR} = "$dir/var";
    delete local $ENV{FEDI_DB};

    $r = fedictl('db', 'status');
    like($r->{out}, qr/^\d+ applied, \d+ pending$/m,
         'FEDI_VAR: the embedded instance\'s socket and port')
        or diag($r->{err});

    $ENV{FEDI_VAR} = "$dir/novar";

    $r = fedictl('db', 'status');
    exits($r, 1, 'no embedded instance: exit 1');
    like($r->{err}, qr{host=\Q$dir\E/novar/pg/run .*make run}s,
         'no embedded instance: the error says where it looked');
}

###############################################################################

# start(@args): fedictl running, its output going to files;
# finish($run) -> { rc, out, err }; fedictl(@args): both

sub start {
    my @args = @_;
    my $n = $runs++;
    my ($out, $err) = map { "$dir/fedictl.$n.$_" } qw(out err);

    my $pid = fork() // die "fork: $!";
    if ($pid == 0) {
        open(STDIN, '<', '/dev/null');
        open(STDOUT, '>', $out);
        open(STDERR, '>', $err);
        exec($FEDICTL, @args) or _exit(127);
    }

    return { pid => $pid, out => $out, err => $err };
}

sub finish {
    my ($run) = @_;
    waitpid($run->{pid}, 0);
    return { rc => $? >> 8, out => slurp($run->{out}),
             err => slurp($run->{err}) };
}

sub fedictl { finish(start(@_)) }

sub exits {
    my ($r, $rc, $name) = @_;
    is($r->{rc}, $rc, $name) or diag("stdout:\n$r->{out}stderr:\n$r->{err}");
}

# an empty database beside the file's own, owned by "fedi"

sub new_db {
    my ($tag) = @_;
    my $name = "${db}_$tag";
    $t->psql("DROP DATABASE IF EXISTS $name;"
             . " CREATE DATABASE $name OWNER fedi TEMPLATE template0");
    $made{$name} = 1;
    return $conninfo =~ s/dbname=\S+/dbname=$name/r;
}

sub sql {
    my ($conninfo, $query) = @_;
    open(my $ps, '-|', 'psql', '-X', '-At', $conninfo, '-c', $query)
        or die "psql: $!";
    my $out = join '', <$ps>;
    close $ps;
    return $out =~ s/\s+\z//r;
}

sub slurp {
    open(my $fh, '<', $_[0]) or return '';
    local $/;
    return scalar <$fh> // '';
}

sub write_text {
    my ($name, $text) = @_;
    open(my $fh, '>', $name) or die "$name: $!";
    print $fh $text;
    close $fh;
}

###############################################################################
