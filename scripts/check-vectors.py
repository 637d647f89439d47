#!/usr/bin/env python3
"""Independent check of tests/vectors/protocol-v1.json, written from docs/PROTOCOL.md
alone (no Rust code consulted): canonical forms, leaves, chains, trees, proofs, heads.
Exit status 0 only if every vector reproduces."""
import json, hashlib
raw = open(__import__('os').path.join(__import__('os').path.dirname(__import__('os').path.abspath(__file__)), '..', 'tests', 'vectors', 'protocol-v1.json'), 'rb').read()
d = json.loads(raw)
def esc(s):
    o=['"']
    for c in s:
        n=ord(c)
        if c=='"': o.append('\\"')
        elif c=='\\': o.append('\\\\')
        elif c=='\b': o.append('\\b')
        elif c=='\f': o.append('\\f')
        elif c=='\n': o.append('\\n')
        elif c=='\r': o.append('\\r')
        elif c=='\t': o.append('\\t')
        elif n<0x20: o.append('\\u%04x'%n)
        else: o.append(c)
    o.append('"'); return ''.join(o)
def u16(k): return k.encode('utf-16-be')
def canon(v):
    if v is None: return 'null'
    if v is True: return 'true'
    if v is False: return 'false'
    if isinstance(v,int):
        assert abs(v) <= 2**53-1; return str(v)
    if isinstance(v,float): raise ValueError
    if isinstance(v,str): return esc(v)
    if isinstance(v,list): return '['+','.join(canon(x) for x in v)+']'
    ks=sorted(v.keys(), key=u16)
    return '{'+','.join(esc(k)+':'+canon(v[k]) for k in ks)+'}'
H=lambda b: hashlib.sha256(b).digest()
hx=lambda b:'0x'+b.hex()
ub=lambda s: bytes.fromhex(s[2:])
leaf=lambda b:H(b'\x00'+b)
node=lambda l,r:H(b'\x01'+l+r)
def mth(L):
    n=len(L)
    if n==1: return L[0]
    k=1
    while k*2<n: k*=2
    return node(mth(L[:k]),mth(L[k:]))
def path(m,L):
    n=len(L)
    if n<=1: return []
    k=1
    while k*2<n: k*=2
    return path(m,L[:k])+[mth(L[k:])] if m<k else path(m-k,L[k:])+[mth(L[:k])]
def pairwise(L):
    while len(L)>1:
        L=[node(L[i],L[i+1]) if i+1<len(L) else L[i] for i in range(0,len(L),2)]
    return L[0]
def rfp(lf,pos,size,p):
    if size==0 or pos>=size or len(p)>32: raise ValueError
    fn,sn,r=pos,size-1,lf
    for x in p:
        if sn==0: raise ValueError('long')
        if fn&1 or fn==sn:
            r=node(x,r)
            while fn&1==0 and fn!=0: fn>>=1; sn>>=1
        else: r=node(r,x)
        fn>>=1; sn>>=1
    if sn!=0: raise ValueError('short')
    return r
for c in d['canonical']: assert canon(c['json'])==c['canonical']
for c in d['commitments']: assert hx(H(ub(c['salt'])+c['content'].encode()))==c['commitment']
tips={}
for i,c in enumerate(d['records']):
    r=c['record']; cb=canon(r).encode()
    assert cb.decode()==c['canonical'] and hx(leaf(cb))==c['leaf']
    assert r['index']==i
    s,p=tips.get(r['ticket'],(0,'0x'+'0'*64)); assert (r['seq'],r['prev'])==(s,p); tips[r['ticket']]=(s+1,c['leaf'])
# rejected_records: each is a records[] entry with only `data` replaced by a non-object (§4)
valid={c['record']['type']:c['record'] for c in reversed(d['records'])}
assert len(d['rejected_records'])>=3
for c in d['rejected_records']:
    r=c['record']; assert not isinstance(r['data'],dict), 'rejected record must break the object rule'
    assert {k:v for k,v in r.items() if k!='data'}=={k:v for k,v in valid[r['type']].items() if k!='data'}
for si,t in enumerate(d['trees']):
    L=[ub(x) for x in t['leaves']]
    exp=[hx(leaf(('leaf %d'%i).encode())) for i in range(si+1)] if si<17 else None
    if exp: assert exp==t['leaves']
    assert hx(mth(L))==t['root']==hx(pairwise(L))
    for pr in t['proofs']:
        P=[ub(x) for x in pr['path']]
        assert [hx(x) for x in path(pr['index'],L)]==pr['path']
        assert hx(rfp(L[pr['index']],pr['index'],len(L),P))==t['root']
        if len(L)>1:
            for bad in (P[:-1],P+[L[0]]):
                try: rfp(L[pr['index']],pr['index'],len(L),bad); assert hx(rfp(L[pr['index']],pr['index'],len(L),bad))!=t['root']
                except ValueError: pass
rf=[leaf(bytes.fromhex(h)) for h in ["","00","10","2021","3031","40414243","5051525354555657","606162636465666768696a6b6c6d6e6f"]]
assert [hx(x) for x in rf]==d['trees'][17]['leaves'] and d['trees'][17]['root']=='0x5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328'
for h in d['heads']:
    b=b'\x02'+h['batch_id'].to_bytes(8,'big')+h['first_index'].to_bytes(8,'big')+h['count'].to_bytes(8,'big')+ub(h['root'])
    assert len(b)==57 and hx(H(b))==h['head']
assert d['heads'][0]['root']==hx(leaf(b''))
# pretty printer: serde_json to_string_pretty, keys by code point (BTreeMap of String = UTF-8 byte order)
def pretty(v,ind=0):
    sp='  '*(ind+1); end='  '*ind
    if isinstance(v,dict):
        if not v: return '{}'
        ks=sorted(v.keys(), key=lambda k:k.encode())
        return '{\n'+',\n'.join(sp+esc(k)+': '+pretty(v[k],ind+1) for k in ks)+'\n'+end+'}'
    if isinstance(v,list):
        if not v: return '[]'
        return '[\n'+',\n'.join(sp+pretty(x,ind+1) for x in v)+'\n'+end+']'
    return canon(v)
assert (pretty(d)+'\n').encode()==raw, 'pretty mismatch'
# check the script-derived inputs
import datetime
base=datetime.datetime(2025,3,1,9,30,tzinfo=datetime.timezone.utc)
for i,c in enumerate(d['records']):
    r=c['record']
    oc=(base+datetime.timedelta(milliseconds=i*61000)); rc=oc+datetime.timedelta(milliseconds=250)
    f=lambda t:t.strftime('%Y-%m-%dT%H:%M:%S.')+'%03dZ'%(t.microsecond//1000)
    assert r['occurred_at']==f(oc) and r['recorded_at']==f(rc),(i)
contents={0:"My withdrawal of 2 BTC has been pending for 9 days.",5:"Wir prüfen Ihre Auszahlung. «Merci» — 谢谢",6:"Checked chain: tx stuck\t(nonce gap)\nescalate?",9:"",15:"Final response: we uphold your complaint."}
for i,c in enumerate(d['records']):
    r=c['record']
    if i in contents: assert r['content']==hx(H(bytes([i])*32+contents[i].encode())),i
    else: assert r['content'] is None
print('check-vectors: every protocol v1 vector reproduces from PROTOCOL.md')
