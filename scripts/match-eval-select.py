"""Selects the hard cases of tests/data/match-eval/ror-hard-cases.csv from ROR's public
affiliation-matching test data (ror-community/ror-api, MIT licence; see that folder's README).

Usage: match-eval-select.py OUT.csv DIR REVIEW.csv
  DIR holds the JSON files named in the README, taken from the repository at the commits given
  there; REVIEW.csv (affiliation,names) adds the registry institutes a string names that ROR's
  one label leaves out (read by hand, see the README).

Keeps every string labelled with a registry institute's ROR id, and every string holding a
word of the registry's names or acronyms (or a place those names hold): the look-alikes.
Splits dev/test by the string's SHA-1, so the split never depends on what a matcher does.
"""
import json,re,unicodedata,glob,hashlib,sys,csv
KEY = """3ia adapt adelaide aesia ai2 ai4industry aicos aiis aiml aip airc aisg aisi aist alan alberta alicante allen
amii aniti archimedes ati azur baai barcelona beijing bifold bilgem bsc c4ai cair caisi canadian ceadar cenia centrum
cfar cheng cifar ciirc cns cote csiro cwi cyber cybernetics czech dalle data61 deutsches dfki dtc electronics ellis
etri fair fapesp fari fcai fhp finnish flanders fondazione forschungszentrum fraunhofer frontier fundacion gsai
haicu helmholtz hessian iais icai ideas idiap idsia indiaai inesia informatica inria insait insight ircai ivado jaechul
kaist kempelen kinit kyutai lamarr linz llmc mbzuai mcml miai mila milab mohamed molle mpi nairl naic ncai ncair ncbr nii
norwai nsf pcl peng pengcheng pioneer pjlab planck prairie qcri quebec rai riken scads sdaia sdsc snai stanford star
supercomputing supsi swiss taide telecommunications tii toulouse tubingen tubitak turing usi valley vector wadhwani
wallenberg wasp wiskunde wsai zayed montreal toronto max tuebingen astar alberta shanghai shenzhen tokyo
""".split()
KEY=set(KEY)
def fold(s):
    s=unicodedata.normalize('NFKD',s)
    s=''.join(c for c in s if not unicodedata.combining(c)).lower()
    return re.findall(r'[a-z0-9]+',s)
rows={}
for f in sorted(glob.glob(sys.argv[2] + '/*.json')):
    for r in json.load(open(f)):
        a=r['affiliation']
        ids=r.get('ror_ids')
        if ids is None: ids=[r.get('ror-id')] if r.get('ror-id') else []
        ids=[i for i in ids if i and i.startswith('https://ror.org/')]
        key=a.strip()
        if key in rows: continue
        rows[key]=(ids,f.split('/')[-1])
regs=['035dkdb55','03kqdja62','05c22rx21','01sdtdd95','02kvxyf05','04fq9j139','03ysstz10','03qdqbt06','00x7ekv49','05sd8tv96']
out=[]
for a,(ids,src) in rows.items():
    t=set(fold(a))
    pos=any(any(g in i for g in regs) for i in ids)
    if pos or (t & KEY):
        out.append((a,ids,src))
# Written: affiliation, labels (space-separated ROR ids, empty = none), source file, split,
# also_names (registry slugs from the review).
review={}
for r in csv.DictReader(open(sys.argv[3])):
    review.setdefault(r['affiliation'],[]).append(r['names'])
out.sort(key=lambda o: hashlib.sha1(o[0].encode()).hexdigest())
with open(sys.argv[1],'w',newline='') as fh:
    w=csv.writer(fh, lineterminator='\n', quoting=csv.QUOTE_ALL)
    w.writerow(['affiliation','labels','source','split','also_names'])
    for a,ids,src in out:
        split='dev' if int(hashlib.sha1(a.encode()).hexdigest()[:2],16)%2==0 else 'test'
        w.writerow([a,' '.join(ids),src,split,' '.join(review.get(a,[]))])
