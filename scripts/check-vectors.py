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
# ---- receipts (PROTOCOL.md §12): keccak-256 and secp256k1 recovery written out here too
RC=[0x0000000000000001,0x0000000000008082,0x800000000000808A,0x8000000080008000,0x000000000000808B,0x0000000080000001,
    0x8000000080008081,0x8000000000008009,0x000000000000008A,0x0000000000000088,0x0000000080008009,0x000000008000000A,
    0x000000008000808B,0x800000000000008B,0x8000000000008089,0x8000000000008003,0x8000000000008002,0x8000000000000080,
    0x000000000000800A,0x800000008000000A,0x8000000080008081,0x8000000000008080,0x0000000080000001,0x8000000080008008]
ROT=[[0,36,3,41,18],[1,44,10,45,2],[62,6,43,15,61],[28,55,25,21,56],[27,20,39,8,14]]
M64=(1<<64)-1
def rol(v,n): return ((v<<n)|(v>>(64-n)))&M64 if n else v
def keccak_f(A):
    for rc in RC:
        C=[A[x][0]^A[x][1]^A[x][2]^A[x][3]^A[x][4] for x in range(5)]
        D=[C[(x-1)%5]^rol(C[(x+1)%5],1) for x in range(5)]
        A=[[A[x][y]^D[x] for y in range(5)] for x in range(5)]
        B=[[0]*5 for _ in range(5)]
        for x in range(5):
            for y in range(5): B[y][(2*x+3*y)%5]=rol(A[x][y],ROT[x][y])
        A=[[B[x][y]^((~B[(x+1)%5][y])&B[(x+2)%5][y]) for y in range(5)] for x in range(5)]
        A[0][0]^=rc
    return A
def keccak256(data):
    rate=136; p=bytearray(data)+b'\x01'
    while len(p)%rate: p+=b'\x00'
    p[-1]|=0x80
    A=[[0]*5 for _ in range(5)]
    for off in range(0,len(p),rate):
        for i in range(rate//8): A[i%5][i//5]^=int.from_bytes(p[off+8*i:off+8*i+8],'little')
        A=keccak_f(A)
    return b''.join(A[i%5][i//5].to_bytes(8,'little') for i in range(4))
assert keccak256(b'').hex()=='c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470'
FP=2**256-2**32-977; N=0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
G=(0x79BE667EF9DCBBAC55A06295CE870B07029BFCDB2DCE28D959F2815B16F81798,0x483ADA7726A3C4655DA4FBFC0E1108A8FD17B448A68554199C47D08FFB10D4B8)
def padd(a,b):
    if a is None: return b
    if b is None: return a
    if a[0]==b[0] and (a[1]+b[1])%FP==0: return None
    l=(3*a[0]*a[0]*pow(2*a[1],-1,FP)) if a==b else ((b[1]-a[1])*pow(b[0]-a[0],-1,FP))
    x=(l*l-a[0]-b[0])%FP; return (x,(l*(a[0]-x)-a[1])%FP)
def pmul(k,pt):
    r=None
    while k:
        if k&1: r=padd(r,pt)
        pt=padd(pt,pt); k>>=1
    return r
def eip191_signer(message,sig_hex):
    sig=bytes.fromhex(sig_hex[2:]); assert len(sig)==65
    r,s,v=int.from_bytes(sig[:32],'big'),int.from_bytes(sig[32:64],'big'),sig[64]
    h=keccak256(b'\x19Ethereum Signed Message:\n'+str(len(message)).encode()+message)
    y=pow((r**3+7)%FP,(FP+1)//4,FP)
    if y%2!=(v-27)%2: y=FP-y
    e=int.from_bytes(h,'big'); Q=pmul(pow(r,-1,N),padd(pmul(s,(r,y)),pmul((-e)%N,G)))
    return '0x'+keccak256(Q[0].to_bytes(32,'big')+Q[1].to_bytes(32,'big'))[-20:].hex()
rraw=open(__import__('os').path.join(__import__('os').path.dirname(__import__('os').path.abspath(__file__)),'..','tests','vectors','receipts.json'),'rb').read()
rv=json.loads(rraw)
for c in rv['v1']:
    m=canon(c['signed']['receipt']); assert m==c['message'] and c['signed']['receipt']['v']==1
    assert eip191_signer(m.encode(),c['signed']['signature'])==rv['signer']
def receipt_signer(sr):
    r=sr['receipt']
    if r['v']==1:
        assert not ({'group','position','path'} & set(sr)), 'a v1 receipt carries no group'
        return eip191_signer(canon(r).encode(),sr['signature'])
    g=sr['group']; assert r['v']==2 and g['v']==2 and (g['chain_id'],g['contract'])==(r['chain_id'],r['contract'])
    lf=H(b'\x03'+canon(r).encode())
    if hx(rfp(lf,sr['position'],g['size'],[ub(x) for x in sr['path']]))!=g['root']: raise ValueError('not in its group')
    return eip191_signer(canon(g).encode(),sr['signature'])
v2=rv['v2']; L=[H(b'\x03'+canon(sr['receipt']).encode()) for sr in v2['signed']]
assert [hx(x) for x in L]==v2['leaves'] and hx(mth(L))==v2['signed'][0]['group']['root']
assert canon(v2['signed'][0]['group'])==v2['group_canonical'] and len({sr['signature'] for sr in v2['signed']})==1
for i,sr in enumerate(v2['signed']):
    assert sr['position']==i and [hx(x) for x in path(i,L)]==sr['path'] and receipt_signer(sr)==rv['signer']
for c in rv['rejected']:
    try: bad=receipt_signer(c['signed'])!=rv['signer']
    except (ValueError,AssertionError): bad=True
    assert bad, c['reason']
assert (pretty(rv)+'\n').encode()==rraw, 'receipts.json pretty mismatch'
# Protocol v2 records (§4.1): a v1 record, but a rating names its survey.
raw2 = open(__import__('os').path.join(__import__('os').path.dirname(__import__('os').path.abspath(__file__)), '..', 'tests', 'vectors', 'protocol-v2.json'), 'rb').read()
d2 = json.loads(raw2)
assert (pretty(d2)+'\n').encode()==raw2, 'v2 pretty mismatch'
def rating_ok(r):
    """The §4.1 rules on a record's version and its rating's data."""
    if r['v'] not in (1, 2): return False
    if r['type'] != 'satisfaction.rated': return True
    want = {'score','scale'} | ({'survey'} if r['v']==2 else set())
    x = r['data']
    if not isinstance(x, dict) or set(x) != want: return False
    if not (1 <= x['scale'] <= 100 and 0 <= x['score'] <= x['scale']): return False
    if r['v']==2 and x['survey'] not in ('csat','nps'): return False
    if r['v']==2 and x['survey']=='nps' and x['scale']!=10: return False
    return True
tips2={}
for c in d2['records']:
    r=c['record']; cb=canon(r).encode()
    assert cb.decode()==c['canonical'] and hx(leaf(cb))==c['leaf']
    assert rating_ok(r)
    # an NPS answer is the one v2 record a log writes; a CSAT rating stays v1
    assert r['v'] == (2 if r['type']=='satisfaction.rated' and r['data'].get('survey')=='nps' else 1)
    s,p=tips2.get(r['ticket'],(0,'0x'+'0'*64)); assert (r['seq'],r['prev'])==(s,p); tips2[r['ticket']]=(s+1,c['leaf'])
assert len(d2['rejected_records'])>=5
for c in d2['rejected_records']: assert not rating_ok(c['record']), c['reason']
# Head v2 (§15, draft): the ticket map, written from the text, not the Rust.
raw3 = open(__import__('os').path.join(__import__('os').path.dirname(__import__('os').path.abspath(__file__)), '..', 'tests', 'vectors', 'head-v2.json'), 'rb').read()
d3 = json.loads(raw3)
assert (pretty(d3)+'\n').encode()==raw3, 'head-v2 pretty mismatch'
u64=lambda n: n.to_bytes(8,'big')
def tip_bytes(t): return u64(t['seq'])+ub(t['leaf'])+u64(t['index'])+u64(t['batch'])
def mkey(handle): return H(handle.encode())
def mleaf(k,t): return H(b'\x04'+k+tip_bytes(t))
def mnode(l,r): return H(b'\x05'+l+r)
ZERO=bytes(32)
def bit(k,d): return (k[d//8]>>(7-d%8))&1
def mroot(items,d=0):
    """items: sorted [(key, leaf hash)] sharing their first d bits."""
    if not items: return ZERO
    if len(items)==1: return items[0][1]
    left=[x for x in items if not bit(x[0],d)]; right=[x for x in items if bit(x[0],d)]
    return mnode(mroot(left,d+1),mroot(right,d+1))
def mverify(root,handle,proof):
    """The handle's tip (a dict), None for a proven absence; ValueError otherwise."""
    k=mkey(handle); sib=proof['siblings']; n=len(sib); term=proof['terminal']
    if n>256: raise ValueError('too deep')
    if n and sib[0] is None: raise ValueError('not canonical')
    if term['kind']=='tip': h=mleaf(k,term['tip']); found=term['tip']
    elif term['kind']=='empty': h=ZERO; found=None
    elif term['kind']=='other':
        o=ub(term['key'])
        if o==k or any(bit(o,d)!=bit(k,d) for d in range(n)): raise ValueError('other entry not on the path')
        h=mleaf(o,term['tip']); found=None
    else: raise ValueError('unknown terminal')
    for i,s in enumerate(sib):
        x=ub(s) if s is not None else ZERO
        h=mnode(x,h) if bit(k,n-1-i) else mnode(h,x)
    if h!=ub(root): raise ValueError('root mismatch')
    return found
t=d3['tips'][0]
assert hx(tip_bytes(t['tip']))==t['encoding'] and hx(mkey(t['ticket']))==t['key'] and hx(mleaf(mkey(t['ticket']),t['tip']))==t['leaf']
tips3={}; nxt=0
for b in d3['batches']:
    assert b['first_index']==nxt and len(b['records'])==b['count']
    for r in b['records']:
        assert r['seq']==tips3.get(r['ticket'],{'seq':-1})['seq']+1
        tips3[r['ticket']]={'seq':r['seq'],'leaf':r['leaf'],'index':r['index'],'batch':b['batch_id']}
    lr=mth([ub(r['leaf']) for r in b['records']])
    mr=mroot(sorted((mkey(h),mleaf(mkey(h),t)) for h,t in tips3.items()))
    ar=H(b'\x06'+lr+mr)
    assert (hx(lr),hx(mr),hx(ar))==(b['log_root'],b['map_root'],b['anchored_root']) and b['entries']==len(tips3)
    assert hx(H(b'\x02'+u64(b['batch_id'])+u64(b['first_index'])+u64(b['count'])+ar))==b['head']
    nxt+=b['count']
kinds=set()
for c in d3['proofs']:
    assert mverify(c['root'],c['ticket'],c['proof'])==c['tip'], c['note']; kinds.add(c['proof']['terminal']['kind'])
assert kinds=={'tip','empty','other'}
for c in d3['rejected_proofs']:
    try: mverify(c['root'],c['ticket'],c['proof']); ok=True
    except ValueError: ok=False
    assert not ok, c['reason']
# Fraud proofs (§15.7), checked from the text: records (§3-§5), paths (§9),
# heads v1 and v2 (§6, §15.3), map proofs (§15.4) and the fraud condition.
import re
raw4 = open(__import__('os').path.join(__import__('os').path.dirname(__import__('os').path.abspath(__file__)), '..', 'tests', 'vectors', 'fraud-proofs.json'), 'rb').read()
d4 = json.loads(raw4)
assert (pretty(d4)+'\n').encode()==raw4, 'fraud-proofs pretty mismatch'
HASH=re.compile(r'0x[0-9a-f]{64}\Z'); CODE=re.compile(r'[a-z0-9][a-z0-9_.:-]{0,63}\Z'); REF=re.compile(r'[\x21-\x3f\x41-\x7e]{1,128}\Z')
TS=re.compile(r'(\d{4})-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\Z'); HANDLE=re.compile(r'tk_[0-9a-f]{32}\Z')
isint=lambda x: isinstance(x,int) and not isinstance(x,bool) and 0<=x<=2**53-1
ishash=lambda x: isinstance(x,str) and HASH.match(x) is not None
iscode=lambda x: isinstance(x,str) and CODE.match(x) is not None
isref=lambda x: isinstance(x,str) and REF.match(x) is not None
ists=lambda x: isinstance(x,str) and (m:=TS.match(x)) is not None and int(m.group(1))>=1970
PRIO=('low','normal','high','urgent'); STATUS=('new','open','pending','on_hold','solved','closed')
DATA={'ticket.created': lambda x: set(x)=={'category','priority','complaint','labels'} and iscode(x['category']) and x['priority'] in PRIO
          and isinstance(x['complaint'],bool) and isinstance(x['labels'],dict) and len(x['labels'])<=16
          and all(iscode(k) and isinstance(v,str) and 1<=len(v)<=200 for k,v in x['labels'].items()),
      'ticket.acknowledged': lambda x: x=={}, 'ticket.closed': lambda x: x=={},
      'message.added': lambda x: set(x)=={'direction','visibility'} and x['direction'] in ('inbound','outbound') and x['visibility'] in ('public','internal'),
      'ticket.assigned': lambda x: set(x)=={'assignee','group'} and isref(x['assignee']) and (x['group'] is None or iscode(x['group'])),
      'priority.changed': lambda x: set(x)=={'from','to'} and x['from'] in PRIO and x['to'] in PRIO,
      'status.changed': lambda x: set(x)=={'from','to'} and x['from'] in STATUS and x['to'] in STATUS,
      'ticket.escalated': lambda x: set(x)=={'level','reason'} and isint(x['level']) and 1<=x['level']<=255 and iscode(x['reason']),
      'ticket.resolved': lambda x: set(x)=={'resolution'} and iscode(x['resolution']),
      'ticket.reopened': lambda x: set(x)=={'reason'} and (x['reason'] is None or iscode(x['reason'])),
      'satisfaction.rated': lambda x: all(isint(x.get(k)) for k in ('score','scale')),
      'final_response.issued': lambda x: set(x)=={'outcome','referral_rights'} and iscode(x['outcome']) and isinstance(x['referral_rights'],bool)}
def record_ok(r):
    """§3 and §4 on a record alone: its members, their spelling, seq and prev, its data."""
    if not isinstance(r,dict) or set(r)!={'v','index','ticket','seq','prev','type','actor','channel','occurred_at','recorded_at','data','content'}: return False
    if r['v'] not in (1,2) or not (isint(r['index']) and isint(r['seq'])) or r['seq']>r['index']: return False
    if not (isinstance(r['ticket'],str) and HANDLE.match(r['ticket']) and ishash(r['prev'])): return False
    if (r['seq']==0)!=(r['prev']=='0x'+'0'*64): return False
    a=r['actor']
    if not (isinstance(a,dict) and set(a)=={'role','ref'} and a['role'] in ('customer','agent','system','bot','integration') and isref(a['ref'])): return False
    if r['channel'] not in ('email','web','chat','phone','sms','social','api') or not (ists(r['occurred_at']) and ists(r['recorded_at'])): return False
    if not (r['content'] is None or ishash(r['content'])): return False
    return r['type'] in DATA and isinstance(r['data'],dict) and DATA[r['type']](r['data']) and rating_ok(r)
def head1(i,f,c,root): return H(b'\x02'+u64(i)+u64(f)+u64(c)+root)
def bhead(b):
    """A fraud proof's batch: head v2 when it gives map_root, else v1 (§6, §15.3)."""
    root=ub(b['root'])
    if b.get('map_root') is not None: root=H(b'\x06'+root+ub(b['map_root']))
    return head1(b['id'],b['first_index'],b['count'],root)
# The log: records, forks, batches (v1 then head v2), the map replayed from batch 0.
recs=d4['records']; logleaf=[]
for i,c in enumerate(recs):
    r=c['record']; cb=canon(r).encode()
    assert cb.decode()==c['canonical'] and hx(leaf(cb))==c['leaf'] and r['index']==i and record_ok(r), i
    logleaf.append(leaf(cb))
byseq={}
for c in recs:
    r=c['record']
    if r['seq']: assert r['prev'] in byseq.get((r['ticket'],r['seq']-1),[]), 'prev is a leaf of the seq before'
    byseq.setdefault((r['ticket'],r['seq']),[]).append(c['leaf'])
assert sorted(len(v) for v in byseq.values())[-2:]==[2,2] and sum(len(v)>1 for v in byseq.values())==2, 'two forks'
tips4={}; nxt=0; honest={}
for b in d4['batches']:
    i,f,n=b['batch_id'],b['first_index'],b['count']; assert f==nxt and n>=1
    for j in range(f,f+n):
        r=recs[j]['record']; tips4[r['ticket']]={'seq':r['seq'],'leaf':recs[j]['leaf'],'index':j,'batch':i}
    lr=mth(logleaf[f:f+n]); mr=mroot(sorted((mkey(h),mleaf(mkey(h),t)) for h,t in tips4.items()))
    assert hx(lr)==b['log_root']
    if b['map_root'] is None: assert hx(head1(i,f,n,lr))==b['head']
    else: assert hx(mr)==b['map_root'] and hx(head1(i,f,n,H(b'\x06'+lr+mr)))==b['head']
    honest[i]={'batch':{'id':i,'first_index':f,'count':n,'root':b['log_root'],**({'map_root':b['map_root']} if b['map_root'] else {})},
               'tips':{k:dict(v) for k,v in tips4.items()},'head':b['head']}
    nxt+=f+n-nxt
assert nxt==len(recs) and [b['map_root'] is None for b in d4['batches']]==[True,False,False,False]
def shape(p):
    """The members §15.7 and §15.4 define, each of its type; (path, 'unknown_member' | 'shape') for the rest."""
    out=[]
    def obj(o,at,req,opt=()):
        if not isinstance(o,dict) or not set(req)<=set(o): out.append((at,'shape')); return False
        out.extend(((at,k),'unknown_member') for k in o if k not in req and k not in opt); return True
    def want(ok,at):
        if not ok: out.append((at,'shape'))
    def tip(t,at):
        if obj(t,at,('seq','leaf','index','batch')): want(isint(t['seq']) and ishash(t['leaf']) and isint(t['index']) and isint(t['batch']),at)
    def batch(b,at):
        if obj(b,at,('id','first_index','count','root'),('map_root',)):
            want(all(isint(b[k]) for k in ('id','first_index','count')) and ishash(b['root']) and (b.get('map_root') is None or ishash(b['map_root'])),at)
    def anch(a,at):
        if obj(a,at,('record','batch','path')):
            want(isinstance(a['record'],dict) and isinstance(a['path'],list) and all(ishash(x) for x in a['path']),at); batch(a['batch'],at+'/batch')
    if not obj(p,'',('fraud_proof','chain_id','contract','claim')): return out
    want(isint(p['fraud_proof']) and isint(p['chain_id']) and isinstance(p['contract'],str),'')
    c=p['claim']
    if isinstance(c,dict) and c.get('kind')=='equivocation' and obj(c,'/claim',('kind','records')):
        if isinstance(c['records'],list) and len(c['records'])==2:
            for k,a in enumerate(c['records']): anch(a,'/claim/records/%d'%k)
        else: out.append(('/claim/records','shape'))
    elif isinstance(c,dict) and c.get('kind')=='skipped_record' and obj(c,'/claim',('kind','record','map_batch','map_proof')):
        anch(c['record'],'/claim/record'); batch(c['map_batch'],'/claim/map_batch'); m=c['map_proof']
        if obj(m,'/claim/map_proof',('siblings','terminal')):
            want(isinstance(m['siblings'],list) and all(x is None or ishash(x) for x in m['siblings']),'/claim/map_proof')
            t=m['terminal']; kind=t.get('kind') if isinstance(t,dict) else None
            T='/claim/map_proof/terminal'
            if kind=='tip' and obj(t,T,('kind','tip')): tip(t['tip'],T+'/tip')
            elif kind=='empty': obj(t,T,('kind',))
            elif kind=='other' and obj(t,T,('kind','key','tip')): want(ishash(t['key']),T); tip(t['tip'],T+'/tip')
            elif kind not in ('tip','empty','other'): out.append((T,'shape'))
    elif not (isinstance(c,dict) and c.get('kind') in ('equivocation','skipped_record')): out.append(('/claim','shape'))
    return out
def anchored4(a):
    """Violations of an anchored record: not a record (§3), outside its batch, a path (§9) that fails; and its leaf."""
    V=[]; r=a['record']; b=a['batch']
    if not record_ok(r): V.append('record')
    lf=leaf(canon(r).encode())
    if b['count']<1 or not isint(r.get('index')) or not (b['first_index']<=r['index']<b['first_index']+b['count']): V.append('outside_batch')
    else:
        try: ok=rfp(lf,r['index']-b['first_index'],b['count'],[ub(x) for x in a['path']])==ub(b['root'])
        except ValueError: ok=False
        if not ok: V.append('path')
    return V,lf
def fraud4(p):
    """Every rule of §15.7 a proof breaks, the heads it needs on chain, and what it shows."""
    sh=shape(p)
    if sh: return sorted({k for _,k in sh}),None,None
    V=[] if p['fraud_proof']==1 else ['version']; c=p['claim']
    if c['kind']=='equivocation':
        (va,la),(vb,lb)=[anchored4(a) for a in c['records']]; V+=va+vb
        A,B=[a['record'] for a in c['records']]
        if A['ticket']!=B['ticket']: V.append('different_ticket')
        if A['seq']!=B['seq']: V.append('different_seq')
        if la==lb: V.append('same_record')
        bs=[a['batch'] for a in c['records']]
        shows={'kind':'equivocation','ticket':A['ticket'],'seq':A['seq'],'leaves':[hx(la),hx(lb)]}
    else:
        R=c['record']; mb=c['map_batch']; r=R['record']
        vr,lr=anchored4(R); V+=vr; case=tip=None
        if R['batch']['id']>mb['id']: V.append('record_after_map_batch')
        if mb.get('map_root') is None: V.append('v1_map_batch')
        else:
            try: tip=mverify(mb['map_root'],r['ticket'],c['map_proof'])
            except ValueError: V.append('map_proof')
            else:
                if tip is None: case='no_record'
                elif tip['index']<r['index']: case='older_tip'
                elif tip['index']==r['index'] and ub(tip['leaf'])!=lr: case='other_leaf_at_index'
                elif tip['batch']>mb['id']: case='tip_in_later_batch'
                else: V.append('no_fraud')
        bs=[R['batch'],mb]
        shows={'kind':'skipped_record','case':case,'tip':tip}
    return V,[{'batch_id':b['id'],'head':hx(bhead(b))} for b in bs],shows
seen=set(); heads_v=set()
for c in d4['fraud_proofs']:
    p=c['proof']; V,hs,shows=fraud4(p)
    assert V==[] and hs==c['heads'] and shows==c['shows'], c['note']
    assert all(h['head']==g['head'] for h in hs for g in hs if h['batch_id']==g['batch_id']), 'one head per batch: the chain holds one'
    cl=p['claim']
    for a in (cl['records'] if cl['kind']=='equivocation' else [cl['record']]):
        r=a['record']; b=a['batch']; sealed=honest[b['id']]
        # the log's record, its batch as sealed (or as the map batch gives it), the §9 path from the log's leaves
        assert r==recs[r['index']]['record'], c['note']
        if cl['kind']=='skipped_record' and b['id']==cl['map_batch']['id']: assert b==cl['map_batch'], c['note']
        else: assert b==sealed['batch'] and hx(bhead(b))==sealed['head'], c['note']
        assert [hx(x) for x in path(r['index']-b['first_index'],logleaf[b['first_index']:b['first_index']+b['count']])]==a['path']
        heads_v.add(cl['kind']=='equivocation' and 'map_root' in b)
    if cl['kind']=='skipped_record':
        mb=cl['map_batch']; sealed=honest[mb['id']]; r=cl['record']['record']
        # the map batch is the log's but for its map root, which the replay does not give;
        # the replay's own tip at that batch is the record or a later one: no fraud in an honest log.
        assert {k:v for k,v in mb.items() if k!='map_root'}=={k:v for k,v in sealed['batch'].items() if k!='map_root'} and mb['map_root']!=sealed['batch']['map_root']
        t=sealed['tips'][r['ticket']]; assert t['index']>=r['index'] and t['batch']<=mb['id']
        seen.add((shows['case'],cl['map_proof']['terminal']['kind']))
    else:
        seen.add(('equivocation',None))
assert {k for k,_ in seen}=={'equivocation','no_record','older_tip','other_leaf_at_index','tip_in_later_batch'} and {t for k,t in seen if k=='no_record'}=={'empty','other'}
assert heads_v=={True,False}, 'equivocation across a v1 and a head v2 batch'
rules=set()
for c in d4['rejected']:
    V,_,_=fraud4(c['proof']); rules.add(c['rule'])
    assert V==[c['rule']], (c['reason'],V)
    if c['rule']=='unknown_member':
        # the same proof without its unknown members is a fraud proof
        q=json.loads(json.dumps(c['proof']))
        for at,_ in shape(q):
            o=q
            for k in [x for x in at[0].split('/') if x]: o=o[int(k)] if isinstance(o,list) else o[k]
            del o[at[1]]
        assert fraud4(q)[0]==[], c['reason']
assert len(rules)==12, rules
print('check-vectors: every protocol v1 and v2 vector, receipt (v1, v2), head v2 map vector and fraud proof vector reproduces from PROTOCOL.md')
