package Fedi::Lab;

# The federation lab: servers under .test names on 127.0.0.x addresses,
# TLS on port 443 with certificates of a throw-away CA, and a DNS server
# (Debian's dnsmasq) on its own 127.0.0.x that answers for those names.
# The independent peer (t/fedlab/peer.mjs, built on Fedify) runs in it;
# so do our instances (their nginx listens on the address the lab gives
# them).  Loopback only: nothing leaves the machine.
#
#   my $lab = Fedi::Lab->new();           # dies unless it can run (root)
#   my $ip  = $lab->host('ours.test');    # an address, a certificate
#   $lab->start_dns();                    # after every host is named
#   $lab->start_peer('peer.test');
#   my $r = $lab->https_get('peer.test', '/users/bob',
#                           Accept => 'application/activity+json');

use strict;
use warnings;

use Carp qw(croak);
use File::Temp qw(tempdir);
use IO::Socket::INET;
use IO::Socket::SSL;
use POSIX qw(WNOHANG);
use Time::HiRes qw(sleep time);
use JSON::PP;
use Fedi::Test ();

my $TOP = do {
    my $d = __FILE__;
    $d =~ s{/t/lib/Fedi/Lab\.pm$}{};
    $d = '.' if $d eq __FILE__;
    $d;
};

my @LABS;

sub available {
    return 'the federation lab needs root (ports 443 and 53 on 127.0.0.x)'
        if $> != 0;
    return 'dnsmasq is missing (Debian: dnsmasq-base; make test installs it)'
        unless -x '/usr/sbin/dnsmasq';
    return 't/fedlab/node_modules is missing (make test runs npm ci there)'
        unless -x "$TOP/t/fedlab/node_modules/.bin/node";
    return undef;
}


sub new {
    my ($class, %opts) = @_;

    my $why = available();
    croak $why if $why;

    my $dir = $opts{dir} // tempdir('fedi-lab-XXXXXXXX', TMPDIR => 1,
                                    CLEANUP => !$ENV{FEDI_TEST_KEEP});
    chmod 0755, $dir;

    my $self = bless {
        dir   => $dir,
        hosts => {},        # name => address
        used  => {},
        pids  => [],
        owner => $$,
    }, $class;

    $self->{dns} = $self->_free_address(53);
    $self->_make_ca();

    push @LABS, $self;
    return $self;
}

sub dir { $_[0]{dir} }
sub ca  { "$_[0]{dir}/ca.crt" }
sub dns { $_[0]{dns} }
sub address { $_[0]{hosts}{$_[1]} // croak "no lab host $_[1]" }
sub cert { "$_[0]{dir}/$_[1].crt" }
sub key  { "$_[0]{dir}/$_[1].key" }


# an address of its own where port 443 (and 53 for the DNS) is free
sub _free_address {
    my ($self, $port) = @_;

    for my $try (1 .. 200) {
        my $ip = '127.0.0.' . (20 + int(rand(230)));
        next if $self->{used}{$ip};

        my $tcp = IO::Socket::INET->new(LocalAddr => $ip, LocalPort => $port,
                                        Proto => 'tcp', Listen => 1,
                                        ReuseAddr => 1) or next;
        close $tcp;

        if ($port == 53) {
            my $udp = IO::Socket::INET->new(LocalAddr => $ip,
                                            LocalPort => $port,
                                            Proto => 'udp') or next;
            close $udp;
        }

        $self->{used}{$ip} = 1;
        return $ip;
    }

    croak "no free 127.0.0.x address with port $port free";
}


sub _run {
    my ($self, @cmd) = @_;
    my $out = `@cmd 2>&1`;
    croak "@cmd: $out" if $?;
    return $out;
}


sub _make_ca {
    my ($self) = @_;
    my $d = $self->{dir};

    $self->_run("openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days 2"
                . " -keyout $d/ca.key -out $d/ca.crt"
                . " -subj '/CN=ngx_fedi lab CA'"
                . " -addext 'basicConstraints=critical,CA:TRUE'"
                . " -addext 'keyUsage=critical,keyCertSign,cRLSign'");
}


# host($name): an address for $name and a certificate for it;
# host($name, wildcard => 1): for every name under $name too (the DNS
# answers for them all)
sub host {
    my ($self, $name, %o) = @_;
    my $d = $self->{dir};

    return $self->{hosts}{$name} if $self->{hosts}{$name};

    croak "lab names end in .test: $name" unless $name =~ /^[a-z0-9.-]+\.test$/;

    open my $ext, '>', "$d/$name.ext" or croak "$d/$name.ext: $!";
    my $san = $o{wildcard} ? "DNS:$name,DNS:*.$name" : "DNS:$name";
    print $ext "subjectAltName=$san\nbasicConstraints=CA:FALSE\n"
        . "keyUsage=digitalSignature,keyEncipherment\n"
        . "extendedKeyUsage=serverAuth\n";
    close $ext;

    $self->_run("openssl req -newkey rsa:2048 -nodes -sha256"
                . " -keyout $d/$name.key -out $d/$name.csr -subj '/CN=$name'");
    $self->_run("openssl x509 -req -in $d/$name.csr -CA $d/ca.crt"
                . " -CAkey $d/ca.key -CAcreateserial -days 2 -sha256"
                . " -out $d/$name.crt -extfile $d/$name.ext");
    chmod 0644, "$d/$name.key";     # nginx workers run as nobody

    return $self->{hosts}{$name} = $self->_free_address(443);
}


sub _spawn {
    my ($self, $log, $env, @cmd) = @_;

    my $pid = fork() // croak "fork: $!";

    if ($pid == 0) {
        open STDIN, '<', '/dev/null';
        open STDOUT, '>>', $log;
        open STDERR, '>&', \*STDOUT;
        @ENV{keys %$env} = values %$env;
        exec @cmd or die "exec $cmd[0]: $!";
    }

    push @{ $self->{pids} }, $pid;
    return $pid;
}


sub _listening {
    my ($ip, $port, $proto) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => $ip, PeerPort => $port,
                                  Proto => $proto // 'tcp', Timeout => 1);
    return 0 unless $s;
    close $s;
    return 1;
}


# the DNS server: every lab host by name, nothing else (no upstream)
sub start_dns {
    my ($self) = @_;
    my $d = $self->{dir};

    my @names = map { "--address=/$_/$self->{hosts}{$_}" }
                sort keys %{ $self->{hosts} };

    $self->_spawn("$d/dnsmasq.log", {}, '/usr/sbin/dnsmasq',
        '--keep-in-foreground', '--conf-file=/dev/null', '--no-resolv',
        '--no-hosts', '--no-poll', '--bind-interfaces',
        "--listen-address=$self->{dns}", '--port=53', '--user=nobody',
        '--group=nogroup', "--pid-file=$d/dnsmasq.pid", '--log-queries',
        "--log-facility=$d/dnsmasq.queries", @names);

    my $end = time + 10;
    sleep 0.05 until _listening($self->{dns}, 53) || time > $end;
    croak "dnsmasq does not answer on $self->{dns}:53: "
        . _slurp("$d/dnsmasq.log") unless _listening($self->{dns}, 53);

    $self->{dns_up} = 1;
    return $self;
}


# the Fedify peer at https://$name/ (%env: more of its environment)
sub start_peer {
    my ($self, $name, %env) = @_;
    my $d = $self->{dir};
    my $ip = $self->host($name);

    croak "start_dns first: the peer resolves through it"
        unless $self->{dns_up};

    $self->_spawn("$d/peer-$name.log", {
            LAB_ADDR => $ip, LAB_HOST => $name, LAB_DNS => $self->{dns},
            LAB_KEY => $self->key($name), LAB_CERT => $self->cert($name),
            NODE_EXTRA_CA_CERTS => $self->ca(), %env,
        }, "$TOP/t/fedlab/node_modules/.bin/node", "$TOP/t/fedlab/peer.mjs");

    my $end = time + 30;
    while (time < $end) {
        my $r = eval { $self->https_get($name, '/_lab/health') };
        return $self if $r && $r->{status} == 200;
        sleep 0.1;
    }

    croak "the peer at $name did not start: " . _slurp("$d/peer-$name.log");
}


# the sink (t/fedlab/sink.mjs) on the lab hosts @names: inboxes that
# answer 202, 500, 429, 410, 400 or never, by the name's first label
sub start_sink {
    my ($self, @names) = @_;
    my $d = $self->{dir};

    croak "start_dns first" unless $self->{dns_up};

    my @sinks = map { { name => $_, addr => $self->host($_),
                        key => $self->key($_), cert => $self->cert($_) } }
                @names;

    $self->_spawn("$d/sink.log", {
            LAB_SINKS => JSON::PP->new->encode(\@sinks),
            LAB_SLOW_MS => $ENV{LAB_SLOW_MS} // 200,
        }, "$TOP/t/fedlab/node_modules/.bin/node", "$TOP/t/fedlab/sink.mjs");

    my $end = time + 30;
    while (time < $end) {
        my $r = eval { $self->https_get($names[0], '/_lab/health') };
        return $self if $r && $r->{status} == 200;
        sleep 0.1;
    }

    croak "the sink did not start: " . _slurp("$d/sink.log");
}


sub peer_log {
    my ($self, $name) = @_;
    return _slurp("$self->{dir}/peer-$name.log");
}


# https_get($name, $path, %headers): over TLS to the lab host, the
# certificate checked against the lab's CA for that name
sub https_get {
    my ($self, $name, $path, %h) = @_;
    return $self->https($name, 'GET', $path, undef, %h);
}


sub https {
    my ($self, $name, $method, $path, $body, %h) = @_;

    my $s = IO::Socket::SSL->new(
        PeerAddr => $self->address($name), PeerPort => 443, Timeout => 10,
        SSL_hostname => $name, SSL_verifycn_name => $name,
        SSL_verifycn_scheme => 'http', SSL_ca_file => $self->ca(),
        SSL_verify_mode => SSL_VERIFY_PEER,
    ) or croak "TLS to $name: $SSL_ERROR";

    my $req = "$method $path HTTP/1.1\r\nHost: $name\r\nConnection: close\r\n";
    $req .= "$_: $h{$_}\r\n" for sort keys %h;
    $req .= "Content-Length: " . length($body) . "\r\n" if defined $body;
    $req .= "\r\n";
    $req .= $body if defined $body;
    print $s $req;

    local $/;
    my $raw = <$s> // '';
    close $s;

    my ($head, $content) = split /\r\n\r\n/, $raw, 2;
    my ($status) = ($head // '') =~ m{^HTTP/1\.[01] (\d+)};
    my %headers;
    for (split /\r\n/, $head // '') {
        $headers{lc $1} = $2 if /^([^:]+):\s*(.*)$/;
    }

    if (($headers{'transfer-encoding'} // '') =~ /chunked/i) {
        my $out = '';
        while ($content =~ s/^([0-9a-fA-F]+)\r\n//) {
            my $n = hex $1;
            last if $n == 0;
            $out .= substr($content, 0, $n, '');
            $content =~ s/^\r\n//;
        }
        $content = $out;
    }

    my $json = eval { JSON::PP->new->utf8->decode($content) };
    return { status => $status // 0, headers => \%headers,
             body => $content, json => $json };
}


# the POSTs the sink recorded (GET /_lab/received on lab host $name)
# whose fields have the values %want
sub sink_got {
    my ($self, $name, %want) = @_;
    my $r = $self->https_get($name, '/_lab/received');
    return grep { my $a = $_; !grep { ($a->{$_} // '') ne $want{$_} }
                                     keys %want } @{ $r->{json} // [] };
}

# $what->() until it gives something true (a list: its first element),
# for $timeout seconds (20)
sub wait_for {
    my ($self, $what, $timeout) = @_;
    my $end = time + ($timeout // 20);
    my @v;
    while (time < $end) {
        @v = $what->();
        last if @v && $v[0];
        sleep 0.1;
    }
    @v = $what->() unless @v && $v[0];
    return wantarray ? @v : $v[0];
}

# an nginx server block's lines for lab host $name: listen, TLS
sub tls_server {
    my ($self, $name) = @_;
    return "        listen $self->{hosts}{$name}:443 ssl;\n"
         . "        server_name $name;\n"
         . "        ssl_certificate " . $self->cert($name) . ";\n"
         . "        ssl_certificate_key " . $self->key($name) . ";\n";
}


# a control request to the peer: GET /_lab/$what?k=v...
sub peer {
    my ($self, $name, $what, %q) = @_;
    my $qs = join '&', map { "$_=" . _urlencode($q{$_}) } sort keys %q;
    return $self->https_get($name, "/_lab/$what" . ($qs ? "?$qs" : ''));
}


# instance($name, http => ..., server => ..., %new): one of our instances,
# running at https://$name on its lab address, with the lab's DNS and CA
# for its fetches and the lab's other hosts (only they) allowed as private
# addresses.  The rest of %new goes to Fedi::Test->new.
sub instance {
    my ($self, $name, %o) = @_;

    my $ip = $self->host($name);
    my ($http, $server) = (delete $o{http} // '', delete $o{server} // '');
    my @others = grep { $_ ne $name } sort keys %{ $self->{hosts} };
    my $allow = join ' ', map { "$self->{hosts}{$_}/32" } @others;

    croak 'start_dns() comes before instance()' unless $self->dns();

    my $t = Fedi::Test->new(domain => $name, https => 'on', %o);

    $t->write_default_conf(
        "    resolver " . $self->dns() . " valid=30s ipv6=off;\n"
        . "    resolver_timeout 5s;\n"
        . "    fedi_ssl_trusted_certificate " . $self->ca() . ";\n"
        . "    fedi_fetch_timeout 5s;\n"
        . ($allow ? "    fedi_outbound_allow $allow;\n" : '')
        . $http,
        "        listen $ip:443 ssl;\n"
        . "        server_name $name;\n"
        . "        ssl_certificate " . $self->cert($name) . ";\n"
        . "        ssl_certificate_key " . $self->key($name) . ";\n"
        . $server);
    $t->run();
    return $t;
}


# mallory_key(): the RSA key (Crypt::OpenSSL::RSA, SHA-256) whose public
# half a peer started with (LAB_ACTOR_PEM => $lab->mallory_pem()) serves
# as https://PEER/users/mallory's: a test signs as mallory with it.
sub mallory_key {
    my ($self) = @_;

    return $self->{mallory} if $self->{mallory};

    require Crypt::OpenSSL::RSA;
    my $key = Crypt::OpenSSL::RSA->generate_key(2048);
    $key->use_sha256_hash();

    open(my $fh, '>', $self->mallory_pem()) or croak "mallory.pem: $!";
    print $fh $key->get_public_key_x509_string();
    close $fh;

    return $self->{mallory} = $key;
}

sub mallory_pem { "$_[0]{dir}/mallory.pem" }


sub _urlencode {
    my ($s) = @_;
    $s =~ s/([^A-Za-z0-9._~-])/sprintf('%%%02X', ord $1)/ge;
    return $s;
}


sub _slurp {
    my ($f) = @_;
    open my $fh, '<', $f or return '';
    local $/;
    return <$fh>;
}


sub stop {
    my ($self) = @_;
    return unless $self->{owner} == $$;

    for my $pid (@{ $self->{pids} }) {
        kill 'TERM', $pid;
    }

    my $end = time + 5;
    for my $pid (@{ $self->{pids} }) {
        sleep 0.05 while waitpid($pid, WNOHANG) == 0 && time < $end;
        kill 'KILL', $pid if kill 0, $pid;
        waitpid($pid, 0);
    }

    $self->{pids} = [];
}


END {
    local $?;       # waitpid() would set the test's exit status
    $_->stop() for @LABS;
}

1;
