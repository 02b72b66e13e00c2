"""Anonymous memory of a process by kind of mapping (issue 16): GC regions, glibc arenas, thread stacks, the rest.

usage: python3 bench/smaps-breakdown.py PID
GC regions = anonymous mappings inside a reservation of 4 GB or more (the GC's); glibc arenas = 64 MB-aligned heaps of
non-main arenas (rw part then ---p up to 64 MB), plus [heap]; thread stacks = mappings holding a thread's stack pointer.
"""
import sys,re,glob,signal
signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # piped into head
pid=sys.argv[1]
maps=[];cur=None
for line in open(f'/proc/{pid}/smaps'):
    if re.match(r'^[0-9a-f]+-[0-9a-f]+ ',line):
        p=line.split(); a,b=[int(x,16) for x in p[0].split('-')]
        cur={'s':a,'e':b,'perm':p[1],'name':p[5] if len(p)>5 else '','rss':0,'anon':0}
        maps.append(cur)
    elif line.startswith('Rss:'): cur['rss']=int(line.split()[1])
    elif line.startswith('Anonymous:'): cur['anon']=int(line.split()[1])
sps=[]
for t in glob.glob(f'/proc/{pid}/task/*'):
    try:
        s=open(t+'/syscall').read().split()
        if len(s)>=3: sps.append(int(s[-2],16))
    except Exception: pass
# contiguous anon runs (for GC reserve detection)
runs=[];r=None
for m in maps:
    if m['name']=='':
        if r and r[-1]['e']==m['s']: r.append(m)
        else: r=[m]; runs.append(r)
    else: r=None
kind={}
for r in runs:
    if r[-1]['e']-r[0]['s']>=(4<<30):
        for m in r: kind[id(m)]='GC regions (in the >=4GB reserve)'
M64=64<<20
for i,m in enumerate(maps):
    if m['name']=='' and id(m) not in kind and m['s']%M64==0 and m['perm'].startswith('rw'):
        # glibc arena heap: rw part then ---p up to the next 64 MB boundary
        end=m['e']; j=i+1
        while j<len(maps) and maps[j]['s']==end and maps[j]['perm'].startswith('---') and maps[j]['name']=='' and end<m['s']+M64: end=maps[j]['e']; j+=1
        if end==m['s']+M64: kind[id(m)]='glibc arena heaps'
for m in maps:
    if m['name']=='' and id(m) not in kind and any(m['s']<=sp<m['e'] for sp in sps): kind[id(m)]='thread stacks'
cat={}
for m in maps:
    if m['name']=='[heap]': k='[heap] main arena (brk)'
    elif m['name'].startswith('/memfd'): k='memfd doublemapper (anon part)'
    elif m['name']=='[stack]': k='main stack'
    elif m['name']: k='file-backed (anon part)'
    else: k=kind.get(id(m),'other anon (loader heaps, mmap>=128KB mallocs, ...)')
    v=cat.setdefault(k,[0,0]); v[0]+=m['anon']; v[1]+=1
tot=sum(v[0] for v in cat.values())
for k,v in sorted(cat.items(),key=lambda x:-x[1][0]): print(f'{v[0]:>9} KB anon {v[1]:>5} maps  {k}')
print(f'{tot:>9} KB anon total; threads {len(sps)}')
print('stacks KB:',sorted([m['anon'] for m in maps if kind.get(id(m))=='thread stacks'],reverse=True))
print('arenas KB:',sorted([m['anon'] for m in maps if kind.get(id(m))=='glibc arena heaps'],reverse=True))
oth=sorted([m for m in maps if m['name']=='' and id(m) not in kind],key=lambda m:-m['anon'])[:8]
print('biggest other:',[(hex(m['s']),(m['e']-m['s'])//1024,m['anon'],m['perm']) for m in oth])
