#!/usr/bin/env bash
# A throwaway mail server for the email channel tests: Dovecot (IMAP, LMTP, SASL auth) and Postfix (SMTP),
# listening on 127.0.0.1 only. Installs the Debian packages if they are missing (needs root).
#   IMAP 1143 (STARTTLS offered)  IMAPS 1993  SMTP 2525 (STARTTLS offered, AUTH)  SMTPS 2465
#   internal: LMTP 2424 (Postfix -> Dovecot), auth 12345 (Postfix SASL -> Dovecot)
# Mailboxes: alice@example.test and bob@example.test, password "secret"; user+box@ lands in the user's
# mailbox "box" when it exists (so a test sending through Postfix reads only its own mail), else in INBOX.
# State, logs and the self-signed certificate (cert.pem, the CA the tests trust) live in $MEDBOT_MAILTEST_DIR.
# Exit status 3: the servers are missing and cannot be installed here (not root, or apt-get failed).
# Already up (another test run started it): reused as it is. Runs started at once wait for each other.
set -euo pipefail
DIR=${MEDBOT_MAILTEST_DIR:-/tmp/medbot-mailtest}
HERE=$(cd "$(dirname "$0")" && pwd)
exec 9>"$DIR.lock"
flock 9 # the servers started below do not inherit this descriptor (9>&-), or they would hold the lock

have_servers() { command -v dovecot >/dev/null && command -v postfix >/dev/null; }

install_servers() {
  export DEBIAN_FRONTEND=noninteractive
  # Postfix asks which kind of mail server to be; "No configuration" leaves all of it to postconf below.
  echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
  apt-get update -qq && apt-get install -y -qq --no-install-recommends dovecot-imapd dovecot-lmtpd postfix >/dev/null
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
all_ports_open() { for port in 1143 1993 2525 2465; do port_open "$port" || return 1; done; }

if [ "$(id -u)" != 0 ]; then
  echo "the test mail server needs root (Postfix, a vmail user)" >&2
  exit 3
fi
# A server started by an older version of this script (without detail mailboxes) is restarted.
if [ -f "$DIR/run/master.pid" ] && kill -0 "$(cat "$DIR/run/master.pid")" 2>/dev/null && all_ports_open &&
  grep -q lmtp_save_to_detail_mailbox "$DIR/dovecot.conf"; then
  echo "mail test servers already up; CA $DIR/cert.pem"
  exit 0
fi
if ! have_servers; then
  install_servers || exit 3
  have_servers || exit 3
fi

"$HERE/stop-mail-server.sh" 9>&-
id vmail >/dev/null 2>&1 || useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin vmail
rm -rf "$DIR"
mkdir -p "$DIR/run" "$DIR/maildirs"
chown vmail:vmail "$DIR/maildirs"

printf '%s\n' 'alice@example.test:{PLAIN}secret' 'bob@example.test:{PLAIN}secret' >"$DIR/users"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=localhost" \
  -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
  -keyout "$DIR/key.pem" -out "$DIR/cert.pem" 2>/dev/null
chmod 600 "$DIR/key.pem"

# --- Dovecot: mailboxes, IMAP for medbot and the tests, LMTP and SASL for Postfix
cat >"$DIR/dovecot.conf" <<CONF
protocols = imap lmtp
listen = 127.0.0.1
base_dir = $DIR/run
state_dir = $DIR/run
log_path = $DIR/dovecot.log
ssl = yes
ssl_cert = <$DIR/cert.pem
ssl_key = <$DIR/key.pem
disable_plaintext_auth = no
auth_mechanisms = plain login
first_valid_uid = 100
mail_location = maildir:~/Maildir
recipient_delimiter = +
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u $DIR/users
}
userdb {
  driver = static
  args = uid=vmail gid=vmail home=$DIR/maildirs/%u
}
namespace inbox {
  inbox = yes
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = 1143
  }
  inet_listener imaps {
    address = 127.0.0.1
    port = 1993
    ssl = yes
  }
}
protocol lmtp {
  lmtp_save_to_detail_mailbox = yes
}
service lmtp {
  inet_listener lmtp {
    address = 127.0.0.1
    port = 2424
  }
}
service auth {
  inet_listener {
    address = 127.0.0.1
    port = 12345
  }
}
CONF
dovecot -c "$DIR/dovecot.conf" </dev/null >"$DIR/dovecot-start.log" 2>&1 9>&- || {
  cat "$DIR/dovecot-start.log" >&2
  exit 1
}

# --- Postfix: accepts mail for example.test on loopback and hands it to Dovecot over LMTP
[ -f /etc/postfix/main.cf ] || cp /usr/share/postfix/main.cf.debian /etc/postfix/main.cf
postconf -e \
  "compatibility_level = 3.6" \
  "maillog_file_prefixes = /var, /dev/stdout, /tmp" "maillog_file = $DIR/postfix.log" \
  "inet_interfaces = loopback-only" "inet_protocols = ipv4" \
  "myhostname = mail.example.test" "mydestination =" "relayhost =" "mynetworks = 127.0.0.0/8" \
  "recipient_delimiter = +" \
  "virtual_mailbox_domains = example.test" "virtual_transport = lmtp:inet:127.0.0.1:2424" \
  "smtpd_sasl_auth_enable = yes" "smtpd_sasl_type = dovecot" "smtpd_sasl_path = inet:127.0.0.1:12345" \
  "smtpd_tls_cert_file = $DIR/cert.pem" "smtpd_tls_key_file = $DIR/key.pem" \
  "smtpd_tls_security_level = may" "smtpd_tls_auth_only = no" \
  "smtpd_relay_restrictions = permit_mynetworks permit_sasl_authenticated reject_unauth_destination"
postconf -M "2525/inet=2525 inet n - n - - smtpd"
postconf -M "2465/inet=2465 inet n - n - - smtpd -o smtpd_tls_wrappermode=yes -o smtpd_tls_security_level=encrypt"
postconf -M "postlog/unix-dgram=postlog unix-dgram n - n - 1 postlogd"
newaliases 2>/dev/null 9>&- || true
postfix check
postfix start </dev/null >"$DIR/postfix-start.log" 2>&1 9>&- ||
  postfix reload </dev/null >>"$DIR/postfix-start.log" 2>&1 9>&-

for port in 1143 1993 2525 2465; do
  for _ in $(seq 1 100); do port_open "$port" && break; sleep 0.1; done
  port_open "$port" || {
    echo "port $port did not open; see $DIR/*.log" >&2
    exit 1
  }
done
echo "mail test servers up on 127.0.0.1 (IMAP 1143, IMAPS 1993, SMTP 2525, SMTPS 2465); CA $DIR/cert.pem"
