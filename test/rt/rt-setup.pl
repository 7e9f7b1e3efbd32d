# Prepares a fresh RT 5 database for Lotse's tests: the queue, the custom
# field that holds Lotse's id, Lotse's own user and an agent (root), and an
# auth token for each. Prints {"lotse": "<token>", "agent": "<token>"}.
# Usage: perl rt-setup.pl <queue> <custom field>   (RT_SITE_CONFIG names the config)
use strict;
use warnings;
use lib '/usr/share/request-tracker5/lib';
use RT;
RT::LoadConfig();
RT::Init();

my ($queue_name, $cf_name) = @ARGV;
my $sys = RT->SystemUser;

my $queue = RT::Queue->new($sys);
my ($qid, $qmsg) = $queue->Create(Name => $queue_name);
die "queue: $qmsg\n" unless $qid;

my $cf = RT::CustomField->new($sys);
my ($cid, $cmsg) = $cf->Create(Name => $cf_name, Type => 'FreeformSingle', LookupType => 'RT::Queue-RT::Ticket', Queue => $qid);
die "custom field: $cmsg\n" unless $cid;

my $lotse = RT::User->new($sys);
my ($uid, $umsg) = $lotse->Create(Name => 'lotse', EmailAddress => 'lotse@lotse.test', Privileged => 1);
die "user: $umsg\n" unless $uid;
my ($gid, $gmsg) = $lotse->PrincipalObj->GrantRight(Right => 'SuperUser', Object => RT->System);
die "right: $gmsg\n" unless $gid;

sub token_for {
  my ($user) = @_;
  my $token = RT::AuthToken->new(RT::CurrentUser->new($user));
  my ($id, $msg, $auth) = $token->Create(Owner => $user->Id, Description => 'lotse test');
  die "token: $msg\n" unless $id;
  return $auth;
}

my $root = RT::User->new($sys);
$root->Load('root');
print '{"lotse":"' . token_for($lotse) . '","agent":"' . token_for($root) . '"}' . "\n";
