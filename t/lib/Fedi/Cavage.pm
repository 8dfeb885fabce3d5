package Fedi::Cavage;

# Request headers of a draft-cavage HTTP Signature (rsa-sha256) as
# Mastodon signs a POST or a fetch (GET), made with Perl's OpenSSL
# binding (an implementation independent of ours), for tests that sign
# requests as a lab actor whose key they hold.

use strict;
use warnings;

use Digest::SHA qw(sha256);
use MIME::Base64 qw(encode_base64);
use POSIX qw(strftime);

# headers(key => RSA, key_id => URL, path => P, body => B, %o): the
# header list; %o changes one thing: date, host, signed_body (the digest
# of another body), headers (the names signed), unsigned (no Signature);
# method => 'get' signs a fetch, with no body: (request-target) host date
sub headers {
    my (%o) = @_;
    my $get = lc($o{method} // 'post') eq 'get';
    my $date = $o{date} // strftime('%a, %d %b %Y %H:%M:%S GMT', gmtime);
    my $digest = $get ? undef
               : 'SHA-256=' . encode_base64(sha256($o{signed_body}
                                                   // $o{body}), '');
    my @names = @{ $o{headers} // ($get ? [qw{(request-target) host date}]
                                        : [qw{(request-target) host date digest}]) };
    my %v = ('(request-target)' => ($get ? 'get' : 'post') . " $o{path}",
             host => $o{host} // 'ours.test', date => $date,
             digest => $digest);
    my $string = join "\n", map { "$_: $v{$_}" } @names;
    my $sig = encode_base64($o{key}->sign($string), '');
    my @h = $get ? (Date => $date)
                 : ('Content-Type' => 'application/activity+json',
                    Date => $date, Digest => $digest);
    push @h, Signature => qq{keyId="$o{key_id}",algorithm="rsa-sha256",}
                          . qq{headers="@names",signature="$sig"}
        unless $o{unsigned};
    return \@h;
}

1;
