package configtest

// Case is one YAML file of one object (a few are not objects at all).
type Case struct {
	Name string
	YAML string
}

// Invalid lists files that each break one rule (a few break several on purpose).
// Their messages are in internal/control/config/testdata/invalid.golden. Objects
// without a namespace of their own are in namespace ns.
var Invalid = []Case{
	// Documents and decoding.
	{"yaml syntax", "apiVersion: networking.istio.io/v1\nkind: [\n"},
	{"not an object", "- a\n- b\n"},
	{"missing kind", "apiVersion: networking.istio.io/v1\nmetadata:\n  name: x\n"},
	{"unsupported version", "apiVersion: networking.istio.io/v2\nkind: VirtualService\nmetadata:\n  name: x\nspec: {}\n"},
	{"unsupported istio kind", "apiVersion: networking.istio.io/v1alpha3\nkind: EnvoyFilter\nmetadata:\n  name: x\nspec: {}\n"},
	{"missing spec", "apiVersion: networking.istio.io/v1\nkind: Gateway\nmetadata:\n  name: x\n"},
	{"missing name", "apiVersion: networking.istio.io/v1\nkind: Sidecar\nmetadata: {}\nspec:\n  egress:\n  - hosts: [\"./*\"]\n"},
	{"bad name", "apiVersion: networking.istio.io/v1\nkind: Sidecar\nmetadata:\n  name: Bad_Name\nspec:\n  egress:\n  - hosts: [\"./*\"]\n"},
	{"bad creation timestamp", "apiVersion: networking.istio.io/v1\nkind: Sidecar\nmetadata:\n  name: x\n  creationTimestamp: yesterday\nspec:\n  egress:\n  - hosts: [\"./*\"]\n"},
	{"unknown field", vs("  hosts: [a]\n  http:\n  - rout:\n    - destination: {host: a}\n")},
	{"wrong type", vs("  hosts: a\n  http:\n  - route:\n    - destination: {host: a}\n      weight: fifty\n")},
	{"unknown enum value", se("  hosts: [a.example.com]\n  resolution: MAGIC\n")},
	{"two oneof fields", vs("  hosts: [a]\n  http:\n  - match:\n    - uri:\n        exact: /a\n        prefix: /b\n    route:\n    - destination: {host: a}\n")},
	{"bad duration", vs("  hosts: [a]\n  http:\n  - timeout: 5 seconds\n    route:\n    - destination: {host: a}\n")},
	{"negative into unsigned", vs("  hosts: [a]\n  http:\n  - match:\n    - port: -1\n    route:\n    - destination: {host: a}\n")},

	// VirtualService.
	{"vs no hosts", vs("  http:\n  - route:\n    - destination: {host: a}\n")},
	{"vs bad host", vs("  hosts: [a_b.example.com]\n  http:\n  - route:\n    - destination: {host: a}\n")},
	{"vs numeric tld", vs("  hosts: [a.123]\n  http:\n  - route:\n    - destination: {host: a}\n")},
	{"vs star host for mesh", vs("  hosts: [\"*\"]\n  http:\n  - route:\n    - destination: {host: a}\n")},
	{"vs overlapping hosts", vs("  hosts: [\"*.example.com\", a.example.com]\n  http:\n  - route:\n    - destination: {host: a}\n")},
	{"vs bad gateway ref", vs("  hosts: [a]\n  gateways: [\"ns/Bad_gw\", \"/x\"]\n  http:\n  - route:\n    - destination: {host: a}\n")},
	{"vs no routes", vs("  hosts: [a]\n")},
	{"vs http no action", vs("  hosts: [a]\n  http:\n  - match:\n    - uri: {prefix: /}\n")},
	{"vs redirect and route", vs("  hosts: [a]\n  http:\n  - redirect: {uri: /b}\n    route:\n    - destination: {host: a}\n")},
	{"vs redirect with fault and rewrite", vs("  hosts: [a]\n  http:\n  - redirect: {uri: /b}\n    fault:\n      abort: {httpStatus: 500}\n    rewrite: {uri: /c}\n")},
	{"vs delegate", vs("  hosts: [a]\n  http:\n  - delegate: {name: other}\n")},
	{"vs empty uri match", vs("  hosts: [a]\n  http:\n  - match:\n    - uri: {}\n    route:\n    - destination: {host: a}\n")},
	{"vs bad regex", vs("  hosts: [a]\n  http:\n  - match:\n    - uri: {regex: \"/(a\"}\n      headers:\n        x-b: {regex: \"a(?!b)\"}\n    route:\n    - destination: {host: a}\n")},
	{"vs bad header name", vs("  hosts: [a]\n  http:\n  - match:\n    - headers:\n        \"bad header\": {exact: x}\n    route:\n    - destination: {host: a}\n")},
	{"vs match port", vs("  hosts: [a]\n  http:\n  - match:\n    - port: 70000\n    route:\n    - destination: {host: a}\n")},
	{"vs destination host missing", vs("  hosts: [a]\n  http:\n  - route:\n    - destination: {subset: v1}\n    - weight: 10\n")},
	{"vs destination star", vs("  hosts: [a]\n  http:\n  - route:\n    - destination: {host: \"*\", subset: V_1, port: {number: 0}}\n")},
	{"vs negative weight", vs("  hosts: [a]\n  http:\n  - route:\n    - destination: {host: a, subset: v1}\n      weight: -10\n    - destination: {host: a, subset: v2}\n      weight: 110\n")},
	{"vs weights zero", vs("  hosts: [a]\n  http:\n  - route:\n    - destination: {host: a, subset: v1}\n    - destination: {host: a, subset: v2}\n")},
	{"vs timeout too small", vs("  hosts: [a]\n  http:\n  - timeout: 0.0001s\n    route:\n    - destination: {host: a}\n")},
	{"vs retries", vs("  hosts: [a]\n  http:\n  - retries:\n      attempts: -1\n      perTryTimeout: 1.5ms\n      retryOn: 5xx,sometimes,503\n    route:\n    - destination: {host: a}\n")},
	{"vs retries disabled", vs("  hosts: [a]\n  http:\n  - retries:\n      attempts: 0\n      retryOn: 5xx\n    route:\n    - destination: {host: a}\n")},
	{"vs fault empty", vs("  hosts: [a]\n  http:\n  - fault: {}\n    route:\n    - destination: {host: a}\n")},
	{"vs fault ranges", vs("  hosts: [a]\n  http:\n  - fault:\n      abort:\n        httpStatus: 700\n        percentage: {value: 101}\n      delay:\n        fixedDelay: 0s\n        percentage: {value: 0.00001}\n    route:\n    - destination: {host: a}\n")},
	{"vs fault grpc status", vs("  hosts: [a]\n  http:\n  - fault:\n      abort:\n        grpcStatus: NOPE\n    route:\n    - destination: {host: a}\n")},
	{"vs mirror", vs("  hosts: [a]\n  http:\n  - mirror: {subset: v1}\n    mirrorPercentage: {value: 150}\n    route:\n    - destination: {host: a}\n")},
	{"vs redirect", vs("  hosts: [a]\n  http:\n  - redirect:\n      redirectCode: 200\n      scheme: ftp\n")},
	{"vs redirect empty", vs("  hosts: [a]\n  http:\n  - redirect: {redirectCode: 301}\n")},
	{"vs rewrite", vs("  hosts: [a]\n  http:\n  - rewrite:\n      uri: /x\n      uriRegexRewrite: {match: \"(\", rewrite: \"\"}\n    route:\n    - destination: {host: a}\n")},
	{"vs direct response", vs("  hosts: [a]\n  http:\n  - directResponse: {status: 99}\n")},
	{"vs cors", vs("  hosts: [a]\n  http:\n  - corsPolicy:\n      allowOrigins:\n      - exact: \"\"\n      allowMethods: [GET, FETCH]\n      allowHeaders: [\"x y\"]\n      maxAge: 1.5s\n    route:\n    - destination: {host: a}\n")},
	{"vs header ops", vs("  hosts: [a]\n  http:\n  - headers:\n      request:\n        set: {\":path\": /x, host: b}\n        remove: [host]\n      response:\n        add: {\":status\": \"200\"}\n    route:\n    - destination: {host: a}\n")},
	{"vs tcp", vs("  hosts: [a]\n  tcp:\n  - match:\n    - port: 0\n      destinationSubnets: [10.0.0.0/33]\n  - route: []\n")},
	{"vs tls", vs("  hosts: [a.example.com]\n  tls:\n  - match:\n    - sniHosts: [b.example.org]\n    route:\n    - destination: {host: a.example.com}\n  - route:\n    - destination: {host: a.example.com}\n")},
	{"vs exportTo", vs("  hosts: [a]\n  exportTo: [\".\", ns, \"~\", \"Bad_ns\"]\n  http:\n  - route:\n    - destination: {host: a}\n")},
	{"vs exportTo star with others", vs("  hosts: [a]\n  exportTo: [\"*\", other]\n  http:\n  - route:\n    - destination: {host: a}\n")},

	// DestinationRule.
	{"dr no host", dr("  subsets:\n  - name: v1\n    labels: {version: v1}\n")},
	{"dr bad host", dr("  host: \"a..b\"\n")},
	{"dr subsets", dr("  host: reviews\n  subsets:\n  - labels: {version: v1}\n  - name: v2\n  - name: v2\n  - name: V.3\n    labels: {\"bad key!\": v}\n")},
	{"dr empty traffic policy", dr("  host: reviews\n  trafficPolicy: {}\n")},
	{"dr connection pool", dr("  host: reviews\n  trafficPolicy:\n    connectionPool:\n      tcp:\n        maxConnections: -1\n        connectTimeout: 0s\n      http:\n        http1MaxPendingRequests: -1\n        maxRetries: -2\n        idleTimeout: 1.0005s\n        h2UpgradePolicy: UPGRADE\n        useClientProtocol: true\n")},
	{"dr empty connection pool", dr("  host: reviews\n  trafficPolicy:\n    connectionPool: {}\n")},
	{"dr outlier detection", dr("  host: reviews\n  trafficPolicy:\n    outlierDetection:\n      interval: 0s\n      baseEjectionTime: 0.5ms\n      maxEjectionPercent: 101\n      minHealthPercent: -1\n      consecutiveLocalOriginFailures: 3\n")},
	{"dr load balancer", dr("  host: reviews\n  trafficPolicy:\n    loadBalancer:\n      consistentHash:\n        httpCookie: {ttl: 0s}\n        maglev: {tableSize: 100}\n")},
	{"dr locality", dr("  host: reviews\n  trafficPolicy:\n    loadBalancer:\n      simple: ROUND_ROBIN\n      localityLbSetting:\n        distribute:\n        - from: us-east/*\n          to: {\"us-east/*\": 80, \"us-west/*\": 10}\n")},
	{"dr locality failover", dr("  host: reviews\n  trafficPolicy:\n    loadBalancer:\n      localityLbSetting:\n        failover:\n        - {from: us-east, to: us-east}\n        - {from: us-east/a, to: us-west}\n")},
	{"dr tls mutual", dr("  host: reviews\n  trafficPolicy:\n    tls:\n      mode: MUTUAL\n")},
	{"dr tls credential and files", dr("  host: reviews\n  trafficPolicy:\n    tls:\n      mode: SIMPLE\n      credentialName: c\n      caCertificates: /ca.pem\n")},
	{"dr port level", dr("  host: reviews\n  trafficPolicy:\n    portLevelSettings:\n    - loadBalancer: {simple: RANDOM}\n    - port: {number: 99999}\n")},
	{"dr selector exportTo", dr("  host: reviews\n  exportTo: [\"*\"]\n  workloadSelector:\n    matchLabels: {app: \"*\"}\n")},

	// Gateway.
	{"gateway no servers", gw("  selector: {istio: ingressgateway}\n")},
	{"gateway server", gw("  servers:\n  - port: {number: 0, protocol: SMTP}\n    bind: localhost\n")},
	{"gateway no port", gw("  servers:\n  - hosts: [\"*\"]\n")},
	{"gateway hosts", gw("  servers:\n  - port: {number: 80, name: http, protocol: HTTP}\n    hosts: [\"ns/reviews\", \"ns/*foo.com\", \"Bad_ns/a.com\", \"/\"]\n")},
	{"gateway duplicate port names", gw("  servers:\n  - port: {number: 80, name: http, protocol: HTTP}\n    hosts: [\"*\"]\n  - port: {number: 8080, name: http, protocol: HTTP}\n    hosts: [\"*\"]\n")},
	{"gateway https without tls", gw("  servers:\n  - port: {number: 443, name: https, protocol: HTTPS}\n    hosts: [\"*\"]\n")},
	{"gateway tls on tcp", gw("  servers:\n  - port: {number: 31400, name: tcp, protocol: TCP}\n    hosts: [\"*\"]\n    tls: {mode: SIMPLE, credentialName: x}\n")},
	{"gateway simple without certs", gw("  servers:\n  - port: {number: 443, name: https, protocol: HTTPS}\n    hosts: [\"*\"]\n    tls: {mode: MUTUAL}\n")},
	{"gateway istio mutual with certs", gw("  servers:\n  - port: {number: 443, name: https, protocol: HTTPS}\n    hosts: [\"*\"]\n    tls: {mode: ISTIO_MUTUAL, credentialName: x}\n")},
	{"gateway http with certs", gw("  servers:\n  - port: {number: 80, name: http, protocol: HTTP}\n    hosts: [\"*\"]\n    tls: {mode: SIMPLE, serverCertificate: /c, privateKey: /k}\n")},
	{"gateway target port", gw("  servers:\n  - port: {number: 80, name: http, protocol: HTTP, targetPort: 8080}\n    hosts: [\"*\"]\n")},
	{"gateway name with dot", "apiVersion: networking.istio.io/v1\nkind: Gateway\nmetadata:\n  name: a.b\nspec:\n  servers:\n  - port: {number: 80, name: http, protocol: HTTP}\n    hosts: [\"*\"]\n"},

	// ServiceEntry.
	{"se no hosts", se("  ports:\n  - {number: 80, name: http, protocol: HTTP}\n")},
	{"se star host", se("  hosts: [\"*\"]\n")},
	{"se selector and endpoints", se("  hosts: [a.example.com]\n  resolution: STATIC\n  workloadSelector: {labels: {app: a}}\n  endpoints:\n  - address: 10.0.0.1\n")},
	{"se addresses", se("  hosts: [a.example.com]\n  addresses: [10.0.0.300, 10.0.0.0/8]\n  resolution: DNS\n")},
	{"se ports", se("  hosts: [a.example.com]\n  ports:\n  - {number: 80, name: http, protocol: HTTP}\n  - {number: 80, name: http, protocol: FTP}\n  - {number: 0, name: Bad_Name, targetPort: 70000}\n")},
	{"se none with endpoints", se("  hosts: [a.example.com]\n  resolution: NONE\n  endpoints:\n  - address: 10.0.0.1\n")},
	{"se static endpoints", se("  hosts: [a.example.com]\n  resolution: STATIC\n  ports:\n  - {number: 80, name: http, protocol: HTTP}\n  endpoints:\n  - address: db.example.com\n  - address: 10.0.0.2\n    ports: {grpc: 9090, http: 0}\n  - {}\n")},
	{"se dns wildcard without endpoints", se("  hosts: [\"*.example.com\"]\n  resolution: DNS\n  ports:\n  - {number: 443, name: tls, protocol: TLS}\n")},
	{"se dns round robin endpoints", se("  hosts: [a.example.com]\n  resolution: DNS_ROUND_ROBIN\n  endpoints:\n  - address: a1.example.com\n  - address: a_2.example.com\n")},
	{"se several hosts with tcp", se("  hosts: [a.example.com, b.example.com]\n  resolution: DNS\n  ports:\n  - {number: 3306, name: mysql, protocol: TCP}\n")},
	{"se unix endpoint", se("  hosts: [a.example.com]\n  resolution: STATIC\n  ports:\n  - {number: 80, name: http, protocol: HTTP}\n  endpoints:\n  - address: unix://relative/sock\n    ports: {http: 80}\n")},
	{"se exportTo", se("  hosts: [a.example.com]\n  exportTo: [\"~\", \"*\"]\n")},

	// WorkloadEntry and WorkloadGroup.
	{"we no address", we("  labels: {app: a}\n")},
	{"we bad address", we("  address: \"not a host!\"\n  ports: {http: 0}\n  labels: {\"app/x/y\": a}\n")},
	{"we locality", we("  address: 10.0.0.1\n  locality: a/b/c/d\n")},
	{"wg no template", wg("  metadata:\n    labels: {app: \"a b\"}\n")},

	// Sidecar.
	{"sidecar empty", sc("  workloadSelector: {labels: {app: a}}\n")},
	{"sidecar egress hosts", sc("  egress:\n  - hosts: [reviews, \"ns/reviews\", \"./*foo.com\", \"Bad_ns/*\", \"~/*\"]\n")},
	{"sidecar egress no hosts", sc("  egress:\n  - port: {number: 80, protocol: HTTP, name: http}\n")},
	{"sidecar catch-all not last", sc("  egress:\n  - hosts: [\"./*\"]\n  - port: {number: 9080, protocol: HTTP, name: http}\n    hosts: [\"./*\"]\n")},
	{"sidecar ports", sc("  egress:\n  - port: {number: 80, protocol: HTTP, name: http}\n    hosts: [\"./*\"]\n  - port: {number: 80, protocol: SMTP, name: smtp}\n    bind: nowhere\n    hosts: [\"./*\"]\n  - port: {number: 0, protocol: HTTP}\n    hosts: [\"./*\"]\n")},
	{"sidecar ingress", sc("  ingress:\n  - defaultEndpoint: 127.0.0.1:8080\n  - port: {number: 9080, protocol: HTTP, name: http}\n    defaultEndpoint: 10.0.0.1:8080\n  - port: {number: 9081, protocol: HTTP, name: http2}\n    defaultEndpoint: 127.0.0.1\n")},
	{"sidecar egress proxy", sc("  outboundTrafficPolicy:\n    mode: REGISTRY_ONLY\n    egressProxy: {host: egress.example.com}\n")},
	{"sidecar selector wildcard", sc("  workloadSelector: {labels: {app: \"*\"}}\n  egress:\n  - hosts: [\"./*\"]\n")},

	// Security and telemetry selectors.
	{"peer authentication selector", sec("PeerAuthentication", "  selector:\n    matchLabels: {app: \"a*\"}\n  mtls: {mode: STRICT}\n")},
	{"authorization policy unknown field", sec("AuthorizationPolicy", "  action: ALLOW\n  rulez: []\n")},
}

// Valid lists objects that must all be accepted; most come from Istio's documentation.
var Valid = []Case{
	{"vs weighted and matched", vs(`  hosts: [reviews.prod.svc.cluster.local, "*.example.com", 10.0.0.1]
  gateways: [mesh, istio-system/ingress, my-gw]
  http:
  - name: reviews-v2-routes
    match:
    - uri: {prefix: /wpcatalog}
      headers:
        end-user: {exact: jason}
        x-present: {}
      queryParams:
        q: {regex: "^a.*"}
      ignoreUriCase: true
    - uri: {regex: "^/consumercatalog/[0-9]+$"}
      port: 9080
      sourceLabels: {app: productpage}
    rewrite: {uri: /newcatalog}
    route:
    - destination: {host: reviews.prod.svc.cluster.local, subset: v2, port: {number: 9080}}
      weight: 25
    - destination: {host: reviews.prod.svc.cluster.local, subset: v1}
      weight: 50
      headers:
        request:
          set: {x-version: v1}
        response:
          remove: [foo]
  - route:
    - destination: {host: reviews.prod.svc.cluster.local, subset: v1}
    timeout: 10s
    retries: {attempts: 3, perTryTimeout: 2s, retryOn: "gateway-error,connect-failure,503"}
    fault:
      delay: {percentage: {value: 0.1}, fixedDelay: 5s}
      abort: {percentage: {value: 0.1}, httpStatus: 400}
    mirror: {host: mirror.example.com}
    mirrorPercentage: {value: 50.0}
    corsPolicy:
      allowOrigins: [{exact: https://example.com}]
      allowMethods: [POST, GET]
      allowHeaders: [X-Foo-Bar]
      maxAge: "24h"
    headers:
      request:
        set: {":authority": a.example.com}
`)},
	{"vs redirect and direct response", vs(`  hosts: [a]
  http:
  - match: [{uri: {exact: /v1/getProductRatings}}]
    redirect: {uri: /v1/bookRatings, authority: newratings.default.svc.cluster.local, redirectCode: 301}
  - directResponse: {status: 503, body: {string: "unavailable"}}
`)},
	{"vs tcp and tls", vs(`  hosts: ["*.bookinfo.com"]
  gateways: [mygateway]
  tls:
  - match:
    - port: 443
      sniHosts: [login.bookinfo.com]
    route:
    - destination: {host: login.prod.svc.cluster.local}
  tcp:
  - match:
    - port: 27017
      destinationSubnets: [10.0.0.0/8]
    route:
    - destination: {host: mongo.backup.svc.cluster.local, port: {number: 5555}}
`)},
	{"dr full", dr(`  host: ratings.prod.svc.cluster.local
  exportTo: [".", other]
  trafficPolicy:
    loadBalancer:
      consistentHash:
        httpCookie: {name: user, ttl: 0s}
        maglev: {tableSize: 65537}
      localityLbSetting:
        distribute:
        - from: us-west/zone1/*
          to: {"us-west/zone1/*": 80, "us-west/zone2/*": 20}
    connectionPool:
      tcp: {maxConnections: 100, connectTimeout: 30ms, tcpKeepalive: {time: 7200s, interval: 75s}}
      http: {http2MaxRequests: 1000, maxRequestsPerConnection: 10, idleTimeout: 3m}
    outlierDetection: {consecutive5xxErrors: 7, interval: 5m, baseEjectionTime: 15m, maxEjectionPercent: 100}
    tls: {mode: MUTUAL, clientCertificate: /etc/certs/c.pem, privateKey: /etc/certs/k.pem, sni: ratings.example.com}
    portLevelSettings:
    - port: {number: 80}
      loadBalancer: {simple: LEAST_REQUEST}
  subsets:
  - name: testversion
    labels: {version: v3}
    trafficPolicy:
      loadBalancer: {simple: ROUND_ROBIN}
  - name: v2-mysql-vm
`)},
	{"dr selector", dr("  host: reviews\n  exportTo: [\".\"]\n  workloadSelector:\n    matchLabels: {app: ratings}\n  trafficPolicy:\n    tls: {mode: ISTIO_MUTUAL}\n")},
	{"gateway tls", gw(`  selector: {app: my-gateway-controller}
  servers:
  - port: {number: 80, name: http, protocol: HTTP}
    hosts: [uk.bookinfo.com, eu.bookinfo.com]
    tls: {httpsRedirect: true}
  - port: {number: 443, name: https-443, protocol: HTTPS}
    hosts: [ns1/uk.bookinfo.com, "./*.eu.bookinfo.com"]
    tls: {mode: SIMPLE, credentialName: bookinfo-secret}
  - port: {number: 9443, name: https-9443, protocol: HTTPS}
    hosts: ["bookinfo-namespace/*.bookinfo.com"]
    tls: {mode: MUTUAL, serverCertificate: /c.pem, privateKey: /k.pem, caCertificates: /ca.pem}
  - port: {number: 2379, name: mongo, protocol: MONGO}
    hosts: ["*"]
  - port: {number: 15443, name: tls, protocol: TLS}
    hosts: ["*.local"]
    tls: {mode: AUTO_PASSTHROUGH}
`)},
	{"se dns", se(`  hosts: [api.dropboxapi.com, www.googleapis.com]
  ports:
  - {number: 443, name: https, protocol: TLS}
  resolution: DNS
  location: MESH_EXTERNAL
`)},
	{"se static", se(`  hosts: [mymongodb.somedomain]
  addresses: [192.192.192.192/24]
  ports:
  - {number: 27018, name: mongodb, protocol: MONGO, targetPort: 27019}
  location: MESH_INTERNAL
  resolution: STATIC
  endpoints:
  - address: 2.2.2.2
  - address: 3.3.3.3
    ports: {mongodb: 27020}
    locality: us-east/zone1
    weight: 2
    serviceAccount: mongo
`)},
	{"se selector", se(`  hosts: [details.bookinfo.com]
  location: MESH_INTERNAL
  ports:
  - {number: 80, name: http, protocol: HTTP, targetPort: 8080}
  resolution: STATIC
  workloadSelector:
    labels: {app: details-legacy}
  exportTo: ["~"]
`)},
	{"se none wildcard", se("  hosts: [\"*.bar.com\"]\n  ports:\n  - {number: 80, name: http, protocol: HTTP}\n  resolution: NONE\n")},
	{"we", we("  serviceAccount: details-legacy\n  address: 2.2.2.2\n  labels: {app: details-legacy, instance-id: vm1}\n  ports: {http: 8080}\n  network: vm-network\n  locality: us-east/zone1/rack1\n")},
	{"we network only", we("  network: remote\n")},
	{"wg", wg("  metadata:\n    labels: {app: reviews}\n  template:\n    ports: {grpc: 3550}\n    serviceAccount: default\n  probe:\n    httpGet: {port: 8080, path: /ready}\n")},
	{"sidecar", sc(`  workloadSelector:
    labels: {app: ratings}
  ingress:
  - port: {number: 9080, protocol: HTTP, name: somename}
    defaultEndpoint: unix:///var/run/someuds.sock
  - port: {number: 9081, protocol: HTTP, name: other}
    defaultEndpoint: 127.0.0.1:8080
  egress:
  - port: {number: 9080, protocol: HTTP, name: egresshttp}
    hosts: ["prod-us1/*"]
  - hosts: ["istio-system/*", "./reviews.default.svc.cluster.local", "*/*.example.com"]
  outboundTrafficPolicy:
    mode: ALLOW_ANY
    egressProxy: {host: egress.example.com, port: {number: 443}}
`)},
	{"peer authentication", sec("PeerAuthentication", "  selector:\n    matchLabels: {app: reviews}\n  mtls: {mode: STRICT}\n  portLevelMtls:\n    8080: {mode: DISABLE}\n")},
	{"authorization policy", sec("AuthorizationPolicy", "  action: DENY\n  rules:\n  - from:\n    - source: {notNamespaces: [foo]}\n")},
	{"request authentication", sec("RequestAuthentication", "  jwtRules:\n  - issuer: issuer-foo\n    jwksUri: https://example.com/.well-known/jwks.json\n")},
	{"telemetry", object("telemetry.istio.io/v1", "Telemetry", "  tracing:\n  - randomSamplingPercentage: 10.0\n")},
}

// object returns a one-document YAML file holding kind with the given spec (indented
// two spaces in the table, as it would be under "spec:").
func object(apiVersion, kind, spec string) string {
	return "apiVersion: " + apiVersion + "\nkind: " + kind + "\nmetadata:\n  name: test\n  namespace: ns\nspec:\n" + spec
}

func vs(spec string) string { return object("networking.istio.io/v1", "VirtualService", spec) }
func dr(spec string) string { return object("networking.istio.io/v1", "DestinationRule", spec) }
func gw(spec string) string { return object("networking.istio.io/v1beta1", "Gateway", spec) }
func se(spec string) string { return object("networking.istio.io/v1alpha3", "ServiceEntry", spec) }
func we(spec string) string { return object("networking.istio.io/v1", "WorkloadEntry", spec) }
func sc(spec string) string { return object("networking.istio.io/v1", "Sidecar", spec) }
func wg(spec string) string { return object("networking.istio.io/v1", "WorkloadGroup", spec) }
func sec(kind, spec string) string {
	return object("security.istio.io/v1", kind, spec)
}
