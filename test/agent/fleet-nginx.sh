# Sourced by test-fleet-nginx.sh and bench-fleet-publish.sh: the fleet's certificates and an nginx serving a
# published tree over TLS on 127.0.0.1, as docs/fleet.md ("Hosting the tree") describes. The caller defines
# fail() and cleans up (nginx_stop) in its EXIT trap.

# fleet_pki DIR: DIR/server-ca.{pem,key} (the CA devices pin, fleet.ca-file), DIR/server.{pem,key} (nginx's
# certificate for 127.0.0.1 and localhost), DIR/device-ca.{pem,key} (the CA nginx checks device certificates
# against) and DIR/other-ca.{pem,key} (an unrelated CA, for certificates nginx must refuse).
fleet_pki() {
        local dir=$1 ca
        mkdir -p "$dir"
        for ca in server-ca device-ca other-ca; do
                openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=fleet-$ca" \
                        -keyout "$dir/$ca.key" -out "$dir/$ca.pem" -addext basicConstraints=critical,CA:TRUE \
                        -addext keyUsage=critical,keyCertSign,cRLSign >/dev/null 2>&1 || fail "openssl: $ca"
        done
        openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=127.0.0.1 \
                -keyout "$dir/server.key" -out "$dir/server.csr" >/dev/null 2>&1 || fail "openssl: server key"
        printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' >"$dir/server.ext"
        openssl x509 -req -in "$dir/server.csr" -CA "$dir/server-ca.pem" -CAkey "$dir/server-ca.key" \
                -CAcreateserial -days 2 -extfile "$dir/server.ext" -out "$dir/server.pem" >/dev/null 2>&1 ||
                fail "openssl: server certificate"
}

# device_cert DIR SERIAL [CA]: DIR/SERIAL.{pem,key}, a client certificate whose subject is CN=SERIAL, issued
# by CA (default DIR/device-ca).
device_cert() {
        local dir=$1 serial=$2 ca=${3:-$1/device-ca}
        openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$serial" \
                -keyout "$dir/$serial.key" -out "$dir/$serial.csr" >/dev/null 2>&1 || fail "openssl: $serial key"
        printf 'extendedKeyUsage=clientAuth\n' >"$dir/client.ext"
        openssl x509 -req -in "$dir/$serial.csr" -CA "$ca.pem" -CAkey "$ca.key" -CAcreateserial -days 2 \
                -extfile "$dir/client.ext" -out "$dir/$serial.pem" >/dev/null 2>&1 || fail "openssl: $serial certificate"
}

# nginx_conf DIR PORT DOCROOT PKI ACCESS-LOG WORKERS [no-client-cert]: the configuration, on stdout.
# no-client-cert (for load generators that cannot present one): no certificate asked, no per-device check.
nginx_conf() {
        cat <<NGINX
daemon off;
worker_processes $6;
pid $1/nginx.pid;
error_log $1/error.log warn;
events { worker_connections 1024; }
http {
    client_body_temp_path $1/tmp/body;
    proxy_temp_path $1/tmp/proxy;
    fastcgi_temp_path $1/tmp/fastcgi;
    uwsgi_temp_path $1/tmp/uwsgi;
    scgi_temp_path $1/tmp/scgi;
    log_format fleet '\$request_method \$request_uri \$status "\$http_if_none_match" "\$ssl_client_s_dn" \$ssl_client_verify';
    access_log $5;
    types { }
    default_type application/octet-stream;
    sendfile on;
    keepalive_requests 100000;

    # A device reads only below /devices/<the CN of its certificate>/.
    map "\$ssl_client_s_dn:\$uri" \$fleet_device_ok {
        "~^CN=([A-Za-z0-9][A-Za-z0-9._-]*):/devices/\\1/" 1;
        default 0;
    }

    server {
        listen 127.0.0.1:$2 ssl;
        ssl_certificate $4/server.pem;
        ssl_certificate_key $4/server.key;
$([ "${7:-}" = no-client-cert ] || printf '        ssl_client_certificate %s/device-ca.pem;\n        ssl_verify_client on;\n' "$4")
        ssl_protocols TLSv1.2 TLSv1.3;
        root $3;

        location /devices/ {
$([ "${7:-}" = no-client-cert ] || printf '            if ($fleet_device_ok = 0) {\n                return 403;\n            }\n')
            # .../assertions is the directory's index file.
            try_files \$uri \$uri/index =404;
        }
        location / {
            return 404;
        }
    }
}
NGINX
}

# nginx_start DIR DOCROOT PKI [ACCESS-LOG [WORKERS [no-client-cert]]]: nginx in the foreground (its pid in nginx_pid) on a
# free port of 127.0.0.1 (nginx_port); the configuration and logs in DIR. A port taken meanwhile by another
# program: another one is tried.
nginx_pid=
nginx_port=
nginx_start() {
        local dir=$1 attempt
        mkdir -p "$dir/tmp"
        for attempt in 1 2 3 4 5; do
                nginx_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
                nginx_conf "$dir" "$nginx_port" "$2" "$3" "${4:-$dir/access.log fleet}" "${5:-1}" \
                        "${6:-}" >"$dir/nginx.conf"
                : >"$dir/error.log"
                nginx -p "$dir" -e "$dir/error.log" -c "$dir/nginx.conf" &
                nginx_pid=$!
                for _ in $(seq 100); do
                        kill -0 "$nginx_pid" 2>/dev/null || break
                        python3 -c 'import socket,sys; socket.create_connection(("127.0.0.1",int(sys.argv[1])),1)' \
                                "$nginx_port" 2>/dev/null && return 0
                        sleep 0.1
                done
                nginx_stop
                grep -q "Address already in use" "$dir/error.log" || break
        done
        fail "nginx did not start: $(cat "$dir/error.log")"
}

# nginx_stop: a fast shutdown of the nginx started (master and workers), waited for.
nginx_stop() {
        [ -n "$nginx_pid" ] || return 0
        kill -TERM "$nginx_pid" 2>/dev/null || true
        wait "$nginx_pid" 2>/dev/null || true
        nginx_pid=
}
