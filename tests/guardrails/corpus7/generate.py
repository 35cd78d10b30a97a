#!/usr/bin/env python3
"""Build pii.jsonl (IP address and US SSN positives plus look-alikes) next to this script.

Standard library only, no randomness: every text and value is written out below as data.
Run `python3 generate.py` to write the file, `python3 generate.py --check` to rebuild in
memory, compare with the file on disk and run the checks without writing.
"""
import ipaddress
import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "pii.jsonl")

# Each entry: (kind, text, [(type, value), ...], note)
# kind: "ip" / "ssn" for positives, "neg-ip" / "neg-ssn" for look-alikes.
# A note starting with "hard:" marks a look-alike whose digits would pass a shape/range
# check (four-part dotted number with parts <= 255, SSN-shaped number in the issued ranges,
# eight hex groups) and that only its context makes a non-value.

IP_POS = [
    ("ip", '203.0.113.77 - - [14/Mar/2024:09:12:44 +0000] "GET /api/v2/orders?page=3 HTTP/1.1" 200 5120 "-" "curl/8.5.0"',
     [("ip", "203.0.113.77")], "nginx access log, address at line start with no label"),
    ("ip", "Mar 14 02:17:09 bastion-01 sshd[48211]: Failed password for invalid user admin from 198.51.100.23 port 52144 ssh2",
     [("ip", "198.51.100.23")], ""),
    ("ip", "-A INPUT -s 10.42.0.0/16 -d 10.42.7.15 -p tcp --dport 5432 -m conntrack --ctstate NEW -j ACCEPT",
     [("ip", "10.42.0.0"), ("ip", "10.42.7.15")], "iptables rule; /16 prefix length not part of the value"),
    ("ip", "INC-20931 | P2 | Outbound traffic spike from build agent 172.16.30.12 to 83.147.29.210 between 03:10 and 03:40 UTC. Egress blocked, agent reimaged.",
     [("ip", "172.16.30.12"), ("ip", "83.147.29.210")], "incident ticket"),
    ("ip", '2001:db8:4f1c::2a:9e01 - - [14/Mar/2024:09:13:02 +0000] "POST /login HTTP/2.0" 302 0 "-" "Mozilla/5.0"',
     [("ip", "2001:db8:4f1c::2a:9e01")], "IPv6 at start of an access-log line"),
    ("ip", "can you whitelist 192.168.50.23 on the staging VPN? my laptop keeps getting dropped every 20 min",
     [("ip", "192.168.50.23")], "chat message"),
    ("ip", "Subject: New office uplink\n\nHi all,\n\nthe Leeds office circuit is live. Our public egress is now 198.51.100.140, so please update any allowlists before Friday. Questions to priya.nair@example.com.\n\nThanks,\nPriya",
     [("ip", "198.51.100.140"), ("email", "priya.nair@example.com")], "e-mail; also holds an e-mail address"),
    ("ip", "DATABASE_HOST=10.0.3.25\nDATABASE_PORT=5432\nREDIS_URL=redis://10.0.3.26:6379/0\nLOG_LEVEL=info",
     [("ip", "10.0.3.25"), ("ip", "10.0.3.26")], ".env file; port after the second address is not part of it"),
    ("ip", "NAME                   READY   STATUS    RESTARTS   AGE   IP            NODE\napi-7d9f6c9b8-x2lqk    1/1     Running   0          3h    10.244.1.17   node-b\nworker-5c8d7f-qq9zt    1/1     Running   2          3h    10.244.2.31   node-c",
     [("ip", "10.244.1.17"), ("ip", "10.244.2.31")], "kubectl get pods -o wide"),
    ("ip", "Sehr geehrte Damen und Herren,\n\nseit gestern Abend sehen wir wiederholt Anmeldeversuche von 203.0.113.201 auf unserem Kundenportal. Bitte sperren Sie die Adresse an der Firewall.\n\nMit freundlichen Grüßen\nJ. Brandt",
     [("ip", "203.0.113.201")], "German e-mail"),
    ("ip", "2024-03-14 08:55:10 WARN Verbindung zu [2001:db8:ac10:fe01::15]:443 fehlgeschlagen (Zeitüberschreitung nach 30 s)",
     [("ip", "2001:db8:ac10:fe01::15")], "German log; bracketed IPv6 with port"),
    ("ip", "Bonjour, le serveur de messagerie répond de nouveau sur 192.0.2.45 depuis 14 h 20. Merci de relancer la synchronisation de vos boîtes.",
     [("ip", "192.0.2.45")], "French"),
    ("ip", "Règle 14 : autoriser 172.20.8.0/22 vers 172.20.12.5 en TCP 3389 (demande du service comptabilité, ticket validé par la DSI).",
     [("ip", "172.20.8.0"), ("ip", "172.20.12.5")], "French firewall rule"),
    ("ip", "El cliente indica que desde 81.39.142.6 no puede entrar al portal; revisar si quedó bloqueada en el WAF después del cambio de ayer.",
     [("ip", "81.39.142.6")], "Spanish"),
    ("ip", "kernel: ERROR conexión rechazada desde fe80::a00:27ff:fe4e:66a1 en la interfaz eth1 (regla 7)",
     [("ip", "fe80::a00:27ff:fe4e:66a1")], "Spanish log; link-local IPv6"),
    ("ip", "Goedemorgen, de printer op de tweede verdieping heeft een nieuw adres gekregen: 10.17.2.240. Kun je dat in de handleiding op het intranet aanpassen?",
     [("ip", "10.17.2.240")], "Dutch"),
    ("ip", "Storing: VPN-gateway 198.51.100.9 reageert niet meer sinds 07:45. Monteur is onderweg, verwachte hersteltijd 10:00.",
     [("ip", "198.51.100.9")], "Dutch status message"),
    ("ip", "本番DBサーバー(10.8.1.44)への接続がタイムアウトしています。至急確認をお願いします。",
     [("ip", "10.8.1.44")], "Japanese; address in full-width-adjacent parentheses"),
    ("ip", "不審なアクセス元 2001:db8:1f70::999:de8 からのログイン試行が30回以上ありました。ブロック済みです。",
     [("ip", "2001:db8:1f70::999:de8")], "Japanese; IPv6"),
    ("ip", '{"ts":"2024-03-14T08:01:55Z","event":"login","user":"mkowalski","src_ip":"192.0.2.199","mfa":true,"result":"success"}',
     [("ip", "192.0.2.199")], "JSON audit log"),
    ("ip", "eth0: flags=4163<UP,BROADCAST,RUNNING,MULTICAST>  mtu 1500\n        inet 192.168.1.104  netmask 255.255.255.0  broadcast 192.168.1.255\n        inet6 2001:0db8:0000:0000:0042:0000:8a2e:0370  prefixlen 64  scopeid 0x0<global>\n        ether 3c:22:fb:9a:10:4e  txqueuelen 1000  (Ethernet)",
     [("ip", "192.168.1.104"), ("ip", "255.255.255.0"), ("ip", "192.168.1.255"), ("ip", "2001:0db8:0000:0000:0042:0000:8a2e:0370")],
     "ifconfig output: netmask and broadcast are dotted-quad addresses too; full uncompressed IPv6; the MAC is not a value"),
    ("ip", "%OSPFv3-5-ADJCHG: Process 1, Nbr 2001:DB8:CAFE:12::1 on GigabitEthernet0/1 from LOADING to FULL, Loading Done",
     [("ip", "2001:DB8:CAFE:12::1")], "upper-case IPv6"),
    ("ip", "curl: (7) Failed to connect to 2001:db8:9::beef port 8443 after 2104 ms: Connection refused",
     [("ip", "2001:db8:9::beef")], ""),
    ("ip", "haproxy[912]: 172.31.44.8:51234 [14/Mar/2024:11:02:03.117] fe_https~ be_app/app2 0/0/1/12/13 200 1543 - - ---- 87/87/3/1/0 0/0 \"GET /health HTTP/1.1\"",
     [("ip", "172.31.44.8")], "HAProxy log; client port after the colon is not part of the value"),
    ("ip", "Mar 14 06:40:12 mx1 postfix/smtpd[3301]: connect from unknown[203.0.113.5]\nMar 14 06:40:13 mx1 postfix/smtpd[3301]: lost connection after EHLO from unknown[203.0.113.5]",
     [("ip", "203.0.113.5"), ("ip", "203.0.113.5")], "the same address twice, listed twice in order of appearance"),
    ("ip", "An account failed to log on.\n\nNetwork Information:\n\tWorkstation Name:\tWS-FIN-022\n\tSource Network Address:\t10.120.4.61\n\tSource Port:\t\t50112",
     [("ip", "10.120.4.61")], "Windows security event 4625"),
    ("ip", "$ aws ec2 authorize-security-group-ingress --group-id sg-0a1b2c3d4e --protocol tcp --port 22 --cidr 198.51.100.64/26",
     [("ip", "198.51.100.64")], "shell command; CIDR"),
    ("ip", "traceroute to app.example.net, 30 hops max, 60 byte packets\n 1  _gateway (192.168.0.1)  0.412 ms  0.398 ms  0.391 ms\n 2  100.64.12.1  4.102 ms  4.087 ms  4.070 ms\n 3  62.115.138.24  9.844 ms  9.801 ms  9.790 ms",
     [("ip", "192.168.0.1"), ("ip", "100.64.12.1"), ("ip", "62.115.138.24")], "traceroute; millisecond timings are not addresses"),
    ("ip", "fyi prod-web-3 moved to 52.14.220.9 after the migration, the old box (52.14.77.130) gets released tomorrow morning",
     [("ip", "52.14.220.9"), ("ip", "52.14.77.130")], "chat message"),
    ("ip", "Server started (nginx/1.25.3). Listening on 127.0.0.1:8080 and [::1]:8080",
     [("ip", "127.0.0.1"), ("ip", "::1")], "loopback IPv4 and IPv6 next to a three-part version"),
]

SSN_POS = [
    ("ssn", "New hire record\nEmployee: Dana Whitfield\nSSN: 412-58-3307\nStart date: 2024-04-01\nDepartment: Logistics",
     [("ssn", "412-58-3307")], "HR form; ISO date next to it is not a value"),
    ("ssn", "emp_id,name,ssn,gross_pay\n10442,Luis Ortega,529-71-0846,4812.50\n10443,Grace Obi,287-36-9152,5120.00\n10444,Henrik Lund,634-05-2718,3975.25",
     [("ssn", "529-71-0846"), ("ssn", "287-36-9152"), ("ssn", "634-05-2718")], "payroll CSV export"),
    ("ssn", '{"employee_id": 88213, "ssn": "604-19-2275", "pay_period": "2024-03-01/2024-03-15", "net": 2318.44, "state": "OH"}',
     [("ssn", "604-19-2275")], "payroll JSON"),
    ("ssn", "Notice CP2000, tax year 2022\nTaxpayer identification number: 371-62-5408\nOur records show income that was not reported on your return. Respond by April 30, 2024.",
     [("ssn", "371-62-5408")], "tax letter"),
    ("ssn", "SUBJECT: Martin E. Kessler | DOB 1987-06-22 | 148-90-3316 | ADDRESS HISTORY: 3 | CRIMINAL: none found | EVICTIONS: none found",
     [("ssn", "148-90-3316")], "background-check result; no label next to the number"),
    ("ssn", "hey can you fix my W-4 in workday? they have my social as 233-07-4819 but the last four should be 4891",
     [("ssn", "233-07-4819")], "chat message"),
    ("ssn", "Hi Maria,\n\nattached is his signed I-9. E-Verify needs the number again: 318-44-0972 (it bounced last time because of a typo).\n\nBest,\nTom",
     [("ssn", "318-44-0972")], "e-mail; context only"),
    ("ssn", "Dependents to add:\n1. Ava Reyes, child, 2016-09-03, 641-27-8850\n2. Leo Reyes, child, 2019-01-17, 641-27-9013",
     [("ssn", "641-27-8850"), ("ssn", "641-27-9013")], "benefits enrolment; no label word per line"),
    ("ssn", "Applicant signature on file.\nSocial Security Number: 455 61 2093\nDate of birth: 03/14/1979",
     [("ssn", "455 61 2093")], "space-separated, with the label"),
    ("ssn", "Payroll import failed on row 12: SSN (no dashes) 732184056 already belongs to another employee.",
     [("ssn", "732184056")], "bare nine digits, text says SSN"),
    ("ssn", "Hallo Frau Keller,\n\nfür die US-Lohnabrechnung fehlt noch die Social Security Number Ihres Mannes. In unseren Unterlagen steht 509-33-1784, bitte bestätigen Sie kurz.\n\nViele Grüße\nPersonalabteilung",
     [("ssn", "509-33-1784")], "German"),
    ("ssn", "Numéro de sécurité sociale américain (SSN) du salarié détaché : 266-82-4710. Merci de ne pas le renvoyer par courriel non chiffré.",
     [("ssn", "266-82-4710")], "French"),
    ("ssn", "Formulario W-9 recibido: Alejandra Ruiz Paredes, número de seguro social 587-24-6631, domicilio en Miami, FL.",
     [("ssn", "587-24-6631")], "Spanish"),
    ("ssn", "De Amerikaanse collega heeft zijn SSN doorgegeven voor de expat-administratie: 429-70-5518. Graag vóór de salarisrun van vrijdag invoeren.",
     [("ssn", "429-70-5518")], "Dutch"),
    ("ssn", "米国駐在員の社会保障番号(SSN)は 162-38-7045 です。給与システムへの登録をお願いします。",
     [("ssn", "162-38-7045")], "Japanese"),
    ("ssn", "Form W-2 Wage and Tax Statement 2023\na  Employee's social security number    390-15-6627\nb  Employer identification number (EIN)  84-2917305\n1  Wages, tips, other compensation       61,240.18",
     [("ssn", "390-15-6627")], "W-2 text; the EIN is not a value"),
    ("ssn", "2024-03-14 10:22:31,448 INFO  verify_identity applicant=ak_55102 ssn=219-48-7763 dob_match=true score=0.97",
     [("ssn", "219-48-7763")], "application log"),
    ("ssn", "+----+-----------+-------------+\n| id | last_name | ssn         |\n+----+-----------+-------------+\n|  7 | Novak     | 076-53-2219 |\n|  8 | Haddad    | 540-02-3368 |\n+----+-----------+-------------+",
     [("ssn", "076-53-2219"), ("ssn", "540-02-3368")], "SQL client output"),
    ("ssn", "Co-borrower: Tamsin Greer, SSN 813-26-4490, employer Harbor Freight Lines, annual income $78,000",
     [("ssn", "813-26-4490")], "loan application"),
    ("ssn", "ok here it is 350-61-8027, please delete this message after you've typed it in",
     [("ssn", "350-61-8027")], "chat; no label at all"),
    ("ssn", "Patient: R. Castellano\nMember ID: XJH448120\nSSN: 061-74-3350\nReason for visit: follow-up",
     [("ssn", "061-74-3350")], "clinic intake; the member id is not a value"),
    ("ssn", "Oye, para la solicitud del apartamento me piden el social: 624-90-1187. ¿Es seguro mandarlo por WhatsApp?",
     [("ssn", "624-90-1187")], "Spanish chat"),
    ("ssn", "Sozialversicherungsnummer (USA, SSN) ohne Bindestriche: 275309641 – bitte im Lohnprogramm mit Bindestrichen erfassen.",
     [("ssn", "275309641")], "German; bare nine digits, text says SSN"),
    ("ssn", "社会保障番号(SSN): 498 27 1163\n氏名: ジョン・ミラー\n入社日: 2024年4月1日",
     [("ssn", "498 27 1163")], "Japanese form; space-separated"),
    ("ssn", "We have XXX-XX-7745 on file for this account, but the form you uploaded says 512-48-7745. Which one is right? Reply to hr-help@example.org.",
     [("ssn", "512-48-7745"), ("email", "hr-help@example.org")], "a masked SSN next to a full one; also an e-mail address"),
]

NEG_IP = [
    ("neg-ip", "Microsoft Windows [Version 10.0.19045.3930]\n(c) Microsoft Corporation. All rights reserved.\n\nC:\\Users\\build>",
     [], "four-part Windows build number; 19045 and 3930 exceed 255"),
    ("neg-ip", "Installed: .NET Framework 4.8 (release 528372)\nCLR version: 4.0.30319.42000",
     [], "CLR version string, parts over 255"),
    ("neg-ip", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.6261.112 Safari/537.36 Edg/122.0.2365.80",
     [], "user-agent with four-part browser versions"),
    ("neg-ip", "Router firmware 1.1.4.2 is available (you have 1.1.3.8). Fixes Wi-Fi roaming between mesh nodes.",
     [], "hard: four-part firmware versions with every part <= 255"),
    ("neg-ip", '[assembly: AssemblyVersion("3.2.0.0")]\n[assembly: AssemblyFileVersion("3.2.0.117")]',
     [], "hard: .NET assembly versions shaped like dotted quads"),
    ("neg-ip", "$ snmpget -v2c -c public core-sw1 1.3.6.1.2.1.1.3.0\nDISMAN-EVENT-MIB::sysUpTimeInstance = Timeticks: (48211937) 5 days, 13:55:19.37",
     [], "SNMP OID, MIB scope operator and an uptime with colons"),
    ("neg-ip", "Signature Algorithm: sha256WithRSAEncryption (1.2.840.113549.1.1.11)\nSubject attribute 2.5.4.3 (commonName) = build.internal",
     [], "hard: X.509 OIDs; 2.5.4.3 is a four-part OID with small arcs"),
    ("neg-ip", "Private Enterprise Number assigned: 1.3.6.1.4.1.53712 — put it under iso.org.dod.internet.private.enterprises in the MIB.",
     [], "enterprise OID"),
    ("neg-ip", "As required by clause 4.2.1.3 of the supplier agreement, the vendor notifies the customer within 72 hours of any breach.",
     [], "hard: contract clause numbering with four small parts"),
    ("neg-ip", "Rechnungsdatum: 12.03.2024. Leistungszeitraum 01.02.2024 bis 29.02.2024, zahlbar bis 26.03.2024.",
     [], "German dotted dates"),
    ("neg-ip", "Article 3.1.4.2 du règlement intérieur : le badge doit être porté de façon visible dans les locaux.",
     [], "hard: French article numbering, four parts"),
    ("neg-ip", "Pickup: 52.37022, 4.89517 (Dam Square)\nDrop-off: 52.30868, 4.76389 (Schiphol P3)",
     [], "decimal coordinates"),
    ("neg-ip", "Endstand 2:1 (1:0). Ballbesitz 58:42, Torschüsse 14:9, Ecken 6:3.",
     [], "football scores and statistics with colons"),
    ("neg-ip", "Bowling: Ashwin 10-1-42-3, Jadeja 10-0-51-1. Batting line .312/.398/.541 over 148 games.",
     [], "cricket figures and a baseball slash line"),
    ("neg-ip", "Job finished. wall 12:30:45, cpu 03:14:07, peak RSS 1.7 GiB",
     [], "durations"),
    ("neg-ip", "Cut list: 01:02:13:21 to 01:04:58:07, then 01:11:40:00 to 01:12:05:12 (25 fps)",
     [], "SMPTE timecodes, four colon-separated groups"),
    ("neg-ip", "-rw-r--r-- 1 backup backup 4.7G Mar 14 02:00 db-2024.03.14.tar.gz\n-rw-r--r-- 1 backup backup 4.6G Mar 13 02:00 db-2024.03.13.tar.gz",
     [], "file sizes and dated file names"),
    ("neg-ip", "Reagents: acetone 67-64-1, toluene 108-88-3, sodium hydroxide 1310-73-2, 0.1 M HCl 7647-01-0",
     [], "CAS registry numbers"),
    ("neg-ip", "Replace filter element P/N 12.4.110.3 (qty 2) and wiper blade 3.397.118.942 at the 30.000 km service.",
     [], "hard: dotted part number with parts <= 255; the second one has parts over 255"),
    ("neg-ip", "wlan0: associated with 3c:22:fb:9a:10:4f\nwlan0: hw addr 8c:85:90:1e:7b:d2, signal -61 dBm",
     [], "MAC addresses"),
    ("neg-ip", "Vlan    Mac Address       Type        Ports\n  20    0019.e8a2.3c41    DYNAMIC     Gi1/0/14\n  20    0019.e8a2.9f07    DYNAMIC     Gi1/0/22",
     [], "Cisco dotted MAC table"),
    ("neg-ip", "The authenticity of host 'git.internal' can't be established.\nED25519 key fingerprint is MD5:4b:19:e2:7a:90:cc:31:5d:08:f6:a2:b7:1e:64:d9:03.",
     [], "colon-separated hex fingerprint (16 groups)"),
    ("neg-ip", "SHA1 Fingerprint=A7:3C:90:11:5E:D2:48:B6:0F:C4:29:7D:E3:81:5A:66:BC:02:F9:1D",
     [], "certificate fingerprint with colons"),
    ("neg-ip", "Zigbee: device joined, IEEE 00:12:4b:00:1c:a7:3e:59, short addr 0x1a62, LQI 212",
     [], "hard: EUI-64 in colon form has eight hex groups and parses as IPv6, but it is a device identifier"),
    ("neg-ip", "error: no matching function for call to 'std::vector<int>::push_back(const char [4])'\nnote: candidate: 'void std::vector<_Tp, _Alloc>::push_back(const value_type&)'",
     [], "C++ scope operators"),
    ("neg-ip", "use std::collections::HashMap;\nuse crate::db::pool::Pool;\n\nerror[E0433]: failed to resolve: could not find `Config` in `a::b::c`",
     [], "Rust paths"),
    ("neg-ip", "ActiveRecord::RecordNotFound in Admin::UsersController#show\nCouldn't find User with 'id'=4417",
     [], "Ruby constants with ::"),
    ("neg-ip", "parent::__construct($config);\nself::$instances[static::class] = $this;",
     [], "PHP scope resolution"),
    ("neg-ip", "a.btn:hover::after { content: ''; margin: 0 0 .5rem; }\ninput::placeholder { color: #9a9a9a; }",
     [], "CSS pseudo-elements"),
    ("neg-ip", "foldr :: (a -> b -> b) -> b -> [a] -> b",
     [], "hard: Haskell type annotation; a bare '::' would parse as the unspecified IPv6 address"),
    ("neg-ip", '{"retry":{"max":3,"backoff":"1.5s"},"window":"10:00-18:00","ratio":"16:9"}',
     [], "JSON fragment with colons and times"),
    ("neg-ip", "image: registry.example.com:5000/platform/api:2.8.0.241\nimagePullPolicy: IfNotPresent",
     [], "hard: Kubernetes image tag with a four-part version, every part <= 255"),
    ("neg-ip", "FROM python:3.12.2-slim-bookworm\nRUN pip install numpy==1.26.4 pandas==2.2.1",
     [], "Docker base image tag and pinned library versions"),
    ("neg-ip", "Bumped version to 0.9.12.3 (build 20240314.2) and tagged the release.",
     [], "hard: four-part version, parts <= 255"),
    ("neg-ip", "WARN config: ignoring listen address 192.168.1.300, falling back to the default socket",
     [], "IP-shaped but 300 is out of range, so it is not an address"),
    ("neg-ip", "ValueError: '256.10.4.8' does not appear to be an IPv4 or IPv6 address",
     [], "dotted quad with 256, rejected by the parser"),
    ("neg-ip", "OS build 6.2.9200.16384 detected; applying compatibility shims.",
     [], "four-part OS build, parts over 255"),
    ("neg-ip", "Build fingerprint: 'google/panther/panther:14/UP1A.231005.007/10754064:user/release-keys'",
     [], "Android build fingerprint"),
    ("neg-ip", "Auftragsvolumen gesamt: 1.200.100.000 € (brutto), davon 240.000.000 € im ersten Jahr",
     [], "hard: German-formatted amount whose groups look like four octets"),
    ("neg-ip", "HTS 8471.30.0100 (portable computers), 8473.30.1180 (parts), duty free",
     [], "tariff codes"),
    ("neg-ip", "Dx: S72.001A, M17.11; follow-up in 6 weeks",
     [], "ICD-10 codes"),
    ("neg-ip", "Call number QA76.73.P98 L87 2019; Dewey 005.133",
     [], "library classification numbers"),
    ("neg-ip", "Stand-up moved to 14:30 UTC (20:00 UTC+05:30 for Pune).",
     [], "times and UTC offsets"),
    ("neg-ip", "route-map PEER-IN permit 10\n set community 65001:120 65001:300 additive\n set local-preference 200",
     [], "BGP communities with colons"),
    ("neg-ip", "=VLOOKUP(A2,Sheet2!$A$2:$D$500,4,FALSE)",
     [], "spreadsheet range with colon"),
    ("neg-ip", "Python 3.11.8 (main, Feb 26 2024, 21:39:49) [GCC 13.2.1 20230801] on linux",
     [], "interpreter banner with versions and time"),
    ("neg-ip", "De nieuwe versie 2.4.1.7 van de app lost het inlogprobleem op; update via de App Store.",
     [], "hard: Dutch; four-part app version, parts <= 255"),
    ("neg-ip", "バージョン 10.2.0.1875 にアップデートしました。再起動してください。",
     [], "Japanese; four-part version with a part over 255"),
    ("neg-ip", "Según el apartado 2.3.4.1 del contrato, el proveedor debe avisar con 30 días de antelación.",
     [], "hard: Spanish clause numbering, four small parts"),
    ("neg-ip", "Meet at 40°44'54.3\"N 73°59'08.4\"W, by the fountain.",
     [], "DMS coordinates"),
    ("neg-ip", "def test_rejects_double_compression():\n    assert not is_valid_ipv6(\"2001:db8::12::7\")",
     [], "invalid IPv6 (two '::') in a unit test"),
    ("neg-ip", "Digest: sha256:4c1e9a07b2d35f68e0a91c7d2b8f4e60a3d5c9b7e1f20486c3a7d9e5b1f08c2d\nStatus: Downloaded newer image for acme/worker:1.14",
     [], "image digest and tag"),
    ("neg-ip", "Physical Address. . . . . . . . . : 8C-85-90-1E-7B-D3\nDHCP Enabled. . . . . . . . . . . : Yes",
     [], "dash-separated MAC and ipconfig dot leaders"),
    ("neg-ip", "Linux build-07 6.5.0-26-generic #26~22.04.1-Ubuntu SMP PREEMPT_DYNAMIC x86_64",
     [], "kernel version"),
    ("neg-ip", "SELECT created_at::date AS day, sum(amount)::numeric(12,2) FROM payments GROUP BY 1;",
     [], "PostgreSQL casts with ::"),
    ("neg-ip", "EUR/USD 1.0874, GBP/USD 1.2791, USD/JPY 149.32 at 16:00 CET",
     [], "exchange rates"),
    ("neg-ip", "Release 7.4.2.1 Hotfix 3: see KB 5034441 for the list of fixed issues.",
     [], "hard: four-part product release number, parts <= 255"),
    ("neg-ip", "Stack: server 2.14.1 | client 2.14.0 | proto 3.25.3 | schema v48",
     [], "three-part versions"),
    ("neg-ip", "$ snmpwalk -v2c -c public 10.4.2.1 1.3.6.1.2.1.2.2.1.2\nIF-MIB::ifDescr.1 = STRING: GigabitEthernet0/0\nIF-MIB::ifDescr.2 = STRING: GigabitEthernet0/1",
     [("ip", "10.4.2.1")], "look-alike OIDs next to a real device address, which is listed"),
    ("neg-ip", "Tag v3.0.0.12 pushed by ci-bot; artifacts copied to 172.18.9.40:/srv/releases/",
     [("ip", "172.18.9.40")], "look-alike release tag beside a real host address, which is listed"),
]

NEG_SSN = [
    ("neg-ssn", "Your SSN on file: XXX-XX-6021. If the last four digits are wrong, contact HR before the next pay run.",
     [], "masked SSN"),
    ("neg-ssn", '{"employee_id": 90211, "ssn_masked": "***-**-7745", "ssn_last4": "7745"}',
     [], "masked SSN and last four in JSON"),
    ("neg-ssn", "NSS américain : •••-••-3390",
     [], "French; masked with bullets"),
    ("neg-ssn", "SSN: 000-43-2918\nName: Corey Ambrose\nHire date: 2023-11-06",
     [], "presented as an SSN but area 000 is never issued"),
    ("neg-ssn", "2024-03-14 11:05:12 INFO applicant_ssn=666-20-4471 status=pending_review",
     [], "area 666 is never issued"),
    ("neg-ssn", "Taxpayer ID: 912-71-3380\nFiling status: single",
     [], "ITIN (area 9xx), not an SSN"),
    ("neg-ssn", "SSN: 947-12-0831",
     [], "area 9xx is not issued for SSNs"),
    ("neg-ssn", "Social Security No. 508-00-1942",
     [], "group 00 is never issued"),
    ("neg-ssn", "Employee SSN 377-41-0000 — W-2 reissued",
     [], "serial 0000 is never issued"),
    ("neg-ssn", "SSN: 000-00-0000   DOB: 01/01/1900   Gender: U",
     [], "all-zero placeholder"),
    ("neg-ssn", "For demo accounts enter 987-65-4325 in the SSN field; the sandbox accepts nothing else.",
     [], "documentation example from the 987-65-4320..4329 advertising block (area 9xx)"),
    ("neg-ssn", "emp,ssn,status\n442,999-99-9999,contractor\n443,999-99-9999,contractor",
     [], "sentinel 999-99-9999 in an export"),
    ("neg-ssn", "Order 418-22-7093 shipped via UPS Ground, expected Tuesday.",
     [], "hard: order number shaped AAA-GG-SSSS in the issued ranges"),
    ("neg-ssn", "Re: [Ticket#502-17-3881] printer jam on the 3rd floor",
     [], "hard: ticket number shaped like an SSN"),
    ("neg-ssn", "Case 214-63-0057 has been escalated to Tier 2. Next update within 4 business hours.",
     [], "hard: support case number shaped like an SSN"),
    ("neg-ssn", "Claim no. 733-09-1142\nDate of loss: 2024-02-11\nAdjuster: assigned",
     [], "hard: insurance claim number shaped like an SSN"),
    ("neg-ssn", "Rechnung Nr. 961-04-2210 vom 05.03.2024, zahlbar innerhalb von 14 Tagen.",
     [], "German invoice number; area 9xx"),
    ("neg-ssn", "Covered by U.S. Patent No. 11,482,907 B2 and pending application 17/936,214.",
     [], "patent numbers"),
    ("neg-ssn", "Acme Tooling LLC, EIN 27-4410983, 1099-NEC attached.",
     [], "EIN shaped NN-NNNNNNN"),
    ("neg-ssn", "Ship to: 1600 Elm Street, Springfield, IL 62704-1187",
     [], "ZIP+4"),
    ("neg-ssn", "Direct deposit: ABA 021304756, account 447102938551 (checking)",
     [], "hard: bank routing number, bare nine digits in SSN ranges, no SSN context"),
    ("neg-ssn", "Plaintiff's motion in Case No. 1:23-cv-04417-JMF (S.D.N.Y.) is due 2024-04-02.",
     [], "court docket number"),
    ("neg-ssn", "Run date 2024-03-15, period 2024-02-16 to 2024-03-15, 11 employees processed.",
     [], "ISO dates"),
    ("neg-ssn", "item,W-T-L (mm),qty\nbirch plywood,610-18-2440,12\nMDF,1220-16-2440,4",
     [], "hard: panel dimensions; 610-18-2440 has the shape and ranges of an SSN"),
    ("neg-ssn", "sku,reorder band (min-step-max)\nA-113,150-25-1200\nA-114,300-50-2400",
     [], "hard: spreadsheet min-step-max ranges shaped like SSNs"),
    ("neg-ssn", "Water 7732-18-5, ethanol 64-17-5, formaldehyde 50-00-0",
     [], "CAS numbers"),
    ("neg-ssn", "ISBN 978-1-5093-4712-4 (hardcover), ISBN 978-3-8362-6148-7 (German edition)",
     [], "ISBN-13"),
    ("neg-ssn", "ISSN 2314-5900 (print), 1862-4774 (online)",
     [], "ISSNs"),
    ("neg-ssn", "P/N 482-16-3307 bracket, zinc plated, qty 40, bin C-12",
     [], "hard: part number shaped like an SSN"),
    ("neg-ssn", "Referencia 305-88-1460 agotada; reposición prevista para la semana 14.",
     [], "hard: Spanish product reference shaped like an SSN"),
    ("neg-ssn", "LOT 240-31-0087  EXP 2026-08  STORE BELOW 25 °C",
     [], "hard: batch/lot number shaped like an SSN"),
    ("neg-ssn", "Canada SIN format check: 518 749 320 passes the Luhn test.",
     [], "Canadian SIN (3-3-3), not a US SSN"),
    ("neg-ssn", "National Insurance number: QQ 12 34 56 C",
     [], "UK NI number format (QQ prefix)"),
    ("neg-ssn", "Medicare Beneficiary Identifier: 4QK7-WD2-RN85",
     [], "MBI, not an SSN"),
    ("neg-ssn", "validation:\n  ssn:\n    pattern: '^\\d{3}-\\d{2}-\\d{4}$'\n    message: 'Use the format AAA-GG-SSSS'",
     [], "regex and format template, no digits"),
    ("neg-ssn", "Identity verified with last four 8812 and date of birth.",
     [], "last four only"),
    ("neg-ssn", "Supplier D-U-N-S 079412256, CAGE 3FJ72",
     [], "hard: DUNS number, bare nine digits in SSN ranges, no SSN context"),
    ("neg-ssn", "Número ITIN: 930-82-1175 (no es un número de seguro social)",
     [], "Spanish; ITIN, area 9xx"),
    ("neg-ssn", "def test_rejects_area_666():\n    assert validate_ssn('666-03-5519') is False",
     [], "area 666 in a unit test"),
    ("neg-ssn", "注文番号 907-13-2284 の商品は3月18日に発送予定です。",
     [], "Japanese order number; area 9xx"),
    ("neg-ssn", "Estimated monthly benefit at 67: $1,842.00; COLA 3.2%; earnings record through 2023.",
     [], "Social Security benefit figures without a number"),
    ("neg-ssn", "INSERT INTO people (name, ssn) VALUES ('J. Doe', '220-51-0000');",
     [], "serial 0000 in SQL"),
    ("neg-ssn", "SSN: 000-61-4408\n氏名: 佐藤花子",
     [], "Japanese form; area 000"),
    ("neg-ssn", "Dossier n° 118-42-2207 : pièces justificatives reçues le 12/03.",
     [], "hard: French file number shaped like an SSN"),
    ("neg-ssn", "Vorgangsnummer 356-71-1984, bitte bei Rückfragen angeben.",
     [], "hard: German reference number shaped like an SSN"),
    ("neg-ssn", "Bestelnummer 611-35-8802 is verzonden met PostNL.",
     [], "hard: Dutch order number shaped like an SSN"),
    ("neg-ssn", "S/N 887-62-1049-A  MFG 2023-10",
     [], "device serial with a suffix"),
    ("neg-ssn", "Policy 610-00-4471 renewed through 2025-03-31.",
     [], "policy number; group 00"),
    ("neg-ssn", "Form W-2, box a: XXX-XX-5120\nbox b: 46-1873302",
     [], "masked SSN on a W-2 and an EIN"),
    ("neg-ssn", "Invoice 921-40-7763 for March is attached. Questions: billing@example.net",
     [("email", "billing@example.net")], "invoice number with area 9xx; the e-mail address is a real value and is listed"),
]

ENTRIES = IP_POS + SSN_POS + NEG_IP + NEG_SSN
PREFIX = {"ip": "c7-ip", "ssn": "c7-ssn", "neg-ip": "c7-neg-ip", "neg-ssn": "c7-neg-ssn"}
WANT = {"ip": 30, "ssn": 25, "neg-ip": 60, "neg-ssn": 50}


def build():
    counters = {k: 0 for k in PREFIX}
    rows = []
    for kind, text, expect, note in ENTRIES:
        counters[kind] += 1
        rows.append({
            "id": "%s-%03d" % (PREFIX[kind], counters[kind]),
            "text": text,
            "expect": [{"type": t, "value": v} for t, v in expect],
            "note": note,
        })
    return rows


# ---------------------------------------------------------------- checks

def ssn_in_range(v):
    d = re.sub(r"\D", "", v)
    if len(d) != 9:
        return False
    a, g, s = int(d[:3]), int(d[3:5]), int(d[5:])
    return a != 0 and a != 666 and a < 900 and g != 0 and s != 0


IPV4_RE = re.compile(r"(?<![\w.])(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(?![\w]|\.\d)")
HEXRUN_RE = re.compile(r"[0-9A-Fa-f:.]+")
SSN_RE = re.compile(r"(?<![\w-])\d{3}([- ])\d{2}\1\d{4}(?![\w-])")
EMAIL_RE = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
CARD_RE = re.compile(r"(?<!\d)(?:\d[ -]?){12,18}\d(?!\d)")


def luhn(d):
    s = 0
    for i, c in enumerate(reversed(d)):
        n = int(c)
        if i % 2:
            n *= 2
            if n > 9:
                n -= 9
        s += n
    return s % 10 == 0


def find_values(text):
    """Candidate values a strict shape checker would find: (type, value, start)."""
    out = []
    for m in IPV4_RE.finditer(text):
        if all(int(p) <= 255 for p in m.groups()):
            out.append(("ip", m.group(0), m.start()))
    for m in HEXRUN_RE.finditer(text):
        s, e = m.start(), m.end()
        run = m.group(0).rstrip(".")
        if run.count(":") < 2:
            continue
        if s > 0 and re.match(r"\w", text[s - 1]):
            continue
        if e < len(text) and re.match(r"\w", text[e]):
            continue
        try:
            ip = ipaddress.ip_address(run)
        except ValueError:
            continue
        if ip.version == 6:
            out.append(("ip6", run, s))
    for m in SSN_RE.finditer(text):
        if ssn_in_range(m.group(0)):
            out.append(("ssn", m.group(0), m.start()))
    for m in EMAIL_RE.finditer(text):
        out.append(("email", m.group(0), m.start()))
    for m in CARD_RE.finditer(text):
        d = re.sub(r"\D", "", m.group(0))
        if luhn(d):
            out.append(("card", m.group(0), m.start()))
    return out


def check(rows):
    problems = []
    ids = [r["id"] for r in rows]
    if len(ids) != len(set(ids)):
        problems.append("duplicate ids")
    counts = {k: 0 for k in PREFIX}
    for r in rows:
        for k, p in PREFIX.items():
            if re.fullmatch(re.escape(p) + r"-\d{3}", r["id"]):
                counts[k] += 1
    if counts != WANT:
        problems.append("counts %r != %r" % (counts, WANT))
    value_lines = {}
    for r in rows:
        text, rid = r["text"], r["id"]
        if list(r.keys()) != ["id", "text", "expect", "note"]:
            problems.append(rid + ": key order")
        pos = 0
        for e in r["expect"]:
            t, v = e["type"], e["value"]
            if t not in ("ip", "ssn", "email", "phone", "card", "iban"):
                problems.append(rid + ": bad type " + t)
            i = text.find(v, pos)
            if i < 0:
                problems.append(rid + ": value not found in order: " + v)
                continue
            pos = i + len(v)
            if t == "ip":
                try:
                    ipaddress.ip_address(v)
                except ValueError:
                    problems.append(rid + ": ip does not parse: " + v)
            if t == "ssn":
                if not ssn_in_range(v):
                    problems.append(rid + ": ssn out of range: " + v)
                if not re.fullmatch(r"\d{3}-\d{2}-\d{4}|\d{3} \d{2} \d{4}|\d{9}", v):
                    problems.append(rid + ": ssn shape: " + v)
                if re.fullmatch(r"\d{9}|\d{3} \d{2} \d{4}", v) and not re.search(
                        r"SSN|[Ss]ocial [Ss]ecurity|社会保障番号", text):
                    problems.append(rid + ": unlabelled bare/spaced ssn: " + v)
            value_lines.setdefault(v, set()).add(rid)
        kinds = r["id"].split("-")
        positive = "neg" not in kinds
        if positive and not r["expect"]:
            problems.append(rid + ": positive without values")
        if positive and not any(e["type"] == kinds[1] for e in r["expect"]):
            problems.append(rid + ": positive lacks its own type")
        # unlisted candidates
        listed = [e["value"] for e in r["expect"]]
        hard = r["note"].startswith("hard:")
        for t, v, s in find_values(text):
            if v in listed:
                continue
            if any(v in lv for lv in listed):
                continue
            if not positive and hard:
                continue
            problems.append("%s: unlisted %s candidate %r" % (rid, t, v))
        if not positive and not r["note"]:
            problems.append(rid + ": negative without note")
    for v, lines in value_lines.items():
        if len(lines) > 1:
            problems.append("value in several lines: %s %s" % (v, sorted(lines)))
        pat = re.compile(r"(?<![\w:.])" + re.escape(v) + r"(?![\w:]|\.\d)")
        for r in rows:
            if r["id"] not in lines and pat.search(r["text"]):
                problems.append("value %s also appears unlisted in %s" % (v, r["id"]))
    # every "hard:" note must actually hold a shape candidate, otherwise it is not hard
    for r in rows:
        bare9 = [m for m in re.findall(r"(?<![\w-])\d{9}(?![\w-])", r["text"]) if ssn_in_range(m)]
        if r["note"].startswith("hard:") and not bare9 and not [c for c in find_values(r["text"]) if c[0] in ("ip", "ip6", "ssn")]:
            if "'::'" not in r["note"]:
                problems.append(r["id"] + ": marked hard but no candidate found")
    return problems, counts


def serialise(rows):
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)


def main():
    rows = build()
    data = serialise(rows)
    # parse back
    parsed = [json.loads(line) for line in data.splitlines()]
    problems, counts = check(parsed)
    if "--check" in sys.argv:
        with open(OUT, encoding="utf-8") as f:
            if f.read() != data:
                problems.append("pii.jsonl differs from the generated data")
    else:
        with open(OUT, "w", encoding="utf-8") as f:
            f.write(data)
    n_values = {}
    for r in parsed:
        for e in r["expect"]:
            n_values[e["type"]] = n_values.get(e["type"], 0) + 1
    print("lines:", counts, "values:", n_values,
          "hard negatives:", sum(r["note"].startswith("hard:") for r in parsed))
    if problems:
        print("PROBLEMS:")
        for p in problems:
            print("  " + p)
        sys.exit(1)
    print("all checks passed")


if __name__ == "__main__":
    main()
