#!/usr/bin/env python3
"""Build the seed dataset in data/ from the sourced facts.

Usage (from the repository root):

    python3 data/build_seed.py [SOURCE_DIR]

SOURCE_DIR holds institutes.json, programs.json, exchange_rates.csv and README.md;
it defaults to ../shared/data relative to the repository root.

Writes, next to this script: institutes.json, sectors.json, programs.json,
exchange_rates.csv, countries.csv, currencies.csv.

Rules followed throughout: every figure, id and fact comes from the source files;
nothing is looked up elsewhere or estimated.  Where the source has no value, the
output has none (null / absent).  The tables below are the only editorial input:
slugs, name splits, the focus-area -> sector mapping, parent links, the period end
of multi-year figures (only where the source states the period) and short notes
that restate the source's own wording.

Requirements: Python 3.9+, pycountry (ISO 3166-1 country list), iso4217 (ISO 4217
List One with minor units) and country_converter (its bundled country table gives
the UN M49 sub-regions; the table is read directly, without importing the package).
    pip install pycountry==24.6.1 iso4217==1.16.20260101 country_converter==1.3.2
"""

import csv
import importlib.util
import json
import os
import re
import shutil
import sys
import unicodedata
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.dirname(HERE)
DEFAULT_SOURCE = os.path.join(REPO_ROOT, "..", "shared", "data")
OUT = HERE

SLUG_RE = re.compile(r"^[a-z0-9-]{1,100}$")
CURRENCY_RE = re.compile(r"^[A-Z]{3}$")

# --------------------------------------------------------------------------------------
# Institute names, slugs and aliases
# --------------------------------------------------------------------------------------

# Source names that carry a parenthetical, a slash or a second-language part are split
# here explicitly: source name -> (name, aliases).  Parentheticals that only qualify the
# host or place (e.g. "(University of Adelaide)") are dropped from the name and are not
# aliases.  Every source name containing "(" or " / " must appear in this table.
NAME_SPLITS = {
    "AI Security Institute (formerly AI Safety Institute)":
        ("AI Security Institute", ["AI Safety Institute"]),
    "IVADO (Institute for Data Valorization)":
        ("IVADO", ["Institute for Data Valorization"]),
    "U.S. AI Safety Institute (NIST; renamed Center for AI Standards and Innovation in 2025)":
        ("U.S. AI Safety Institute", ["Center for AI Standards and Innovation"]),
    "Inria (National Institute for Research in Digital Science and Technology)":
        ("Inria", ["National Institute for Research in Digital Science and Technology"]),
    "Multidisciplinary Institute in Artificial Intelligence (MIAI@Grenoble-Alpes)":
        ("Multidisciplinary Institute in Artificial Intelligence", ["MIAI@Grenoble-Alpes"]),
    "German Research Center for Artificial Intelligence (Deutsches Forschungszentrum für Künstliche Intelligenz)":
        ("German Research Center for Artificial Intelligence",
         ["Deutsches Forschungszentrum für Künstliche Intelligenz"]),
    "National AI Research Lab (National AI Research Hub)":
        ("National AI Research Lab", ["National AI Research Hub"]),
    "Global AI Frontier Lab (Korea–NYU)":
        ("Global AI Frontier Lab", []),
    "Swiss National AI Institute / Swiss AI Initiative":
        ("Swiss National AI Institute", ["Swiss AI Initiative"]),
    "IndiaAI Mission (IndiaAI Independent Business Division, Digital India Corporation)":
        ("IndiaAI Mission", ["IndiaAI Independent Business Division"]),
    "Australian Institute for Machine Learning (University of Adelaide)":
        ("Australian Institute for Machine Learning", []),
    "National Artificial Intelligence Centre (Australia)":
        ("National Artificial Intelligence Centre", []),
    "FAIR – Future Artificial Intelligence Research (Fondazione FAIR)":
        ("FAIR – Future Artificial Intelligence Research", ["Fondazione FAIR"]),
    "Czech Institute of Informatics, Robotics and Cybernetics (CTU Prague)":
        ("Czech Institute of Informatics, Robotics and Cybernetics", []),
    "Barcelona Supercomputing Center – Centro Nacional de Supercomputación":
        ("Barcelona Supercomputing Center", ["Centro Nacional de Supercomputación"]),
    "ELLIS Alicante – Institute of Humanity-centric AI (Fundación ELLIS Alicante)":
        ("ELLIS Alicante – Institute of Humanity-centric AI", ["Fundación ELLIS Alicante"]),
    "LIT Artificial Intelligence Lab / ELLIS Unit Linz (Johannes Kepler University)":
        ("LIT Artificial Intelligence Lab", ["ELLIS Unit Linz"]),
    "Israel National Artificial Intelligence Program (National AI Program Directorate)":
        ("Israel National Artificial Intelligence Program", ["National AI Program Directorate"]),
    "Center for Artificial Intelligence (C4AI) – USP/IBM/FAPESP":
        ("Center for Artificial Intelligence", []),
    "Wadhwani School of Data Science and AI (IIT Madras)":
        ("Wadhwani School of Data Science and AI", []),
    "Trustworthy AI Dialogue Engine project (TAIDE)":
        ("Trustworthy AI Dialogue Engine", []),
    "NII Research and Development Center for Large Language Models (LLMC) / LLM-jp":
        ("NII Research and Development Center for Large Language Models", ["LLM-jp"]),
}

# Acronym fields holding two forms "A / B": (acronym, alias).
ACRONYM_SPLITS = {
    "US AISI / CAISI": ("US AISI", "CAISI"),
    "Shanghai AI Lab / PJLab": ("PJLab", "Shanghai AI Lab"),
}

# Former or other names stated in the source notes (acronym -> aliases, with the
# wording of the note they come from).
NOTE_ALIASES = {
    "MPI-IS": ["Max Planck Institute for Metals Research"],  # "Renamed from MPI for Metals Research on 18 Mar 2011"
    "AISG": ["AI.SG"],                                        # "Launched May 2017 as AI.SG"
    "NorwAI": ["CRAI"],                                       # "Formerly CRAI"
}

# Slugs: by default derived from the name (leading "The" and parentheticals removed,
# ASCII-folded, words joined by "-").  Shorter, obvious forms are set here.
SLUG_OVERRIDES = {
    "Vector Institute for Artificial Intelligence": "vector-institute",
    "Mila – Quebec Artificial Intelligence Institute": "mila",
    "Alberta Machine Intelligence Institute": "amii",
    "Canadian Institute for Advanced Research": "cifar",
    "Allen Institute for Artificial Intelligence": "allen-institute-for-ai",
    "NSF National Artificial Intelligence Research Institutes": "nsf-ai-institutes",
    "U.S. AI Safety Institute (NIST; renamed Center for AI Standards and Innovation in 2025)": "us-ai-safety-institute",
    "PaRis Artificial Intelligence Research InstitutE": "prairie",
    "Multidisciplinary Institute in Artificial Intelligence (MIAI@Grenoble-Alpes)": "miai",
    "Artificial and Natural Intelligence Toulouse Institute": "aniti",
    "German Research Center for Artificial Intelligence (Deutsches Forschungszentrum für Künstliche Intelligenz)": "dfki",
    "Max Planck Institute for Intelligent Systems": "mpi-is",
    "RIKEN Center for Advanced Intelligence Project": "riken-aip",
    "AIST Artificial Intelligence Research Center": "aist-airc",
    "KAIST Kim Jaechul Graduate School of AI": "kaist-gsai",
    "Electronics and Telecommunications Research Institute": "etri",
    "National AI Research Lab (National AI Research Hub)": "nairl",
    "A*STAR Centre for Frontier AI Research": "astar-cfar",
    "Beijing Academy of Artificial Intelligence": "baai",
    "Shanghai Artificial Intelligence Laboratory": "shanghai-ai-lab",
    "Peng Cheng Laboratory": "peng-cheng-lab",
    "Mohamed bin Zayed University of Artificial Intelligence": "mbzuai",
    "Saudi Data and AI Authority": "sdaia",
    "Dalle Molle Institute for Artificial Intelligence USI-SUPSI": "idsia",
    "Centrum Wiskunde & Informatica": "cwi",
    "Wallenberg AI, Autonomous Systems and Software Program": "wasp",
    "Finnish Center for Artificial Intelligence": "fcai",
    "CSIRO's Data61": "csiro-data61",
    "Australian Institute for Machine Learning (University of Adelaide)": "aiml",
    "National Artificial Intelligence Centre (Australia)": "australia-national-ai-centre",
    "FAIR – Future Artificial Intelligence Research (Fondazione FAIR)": "fondazione-fair",
    "Pioneer Centre for Artificial Intelligence": "pioneer-centre-for-ai",
    "Innovation Center for Artificial Intelligence": "icai",
    "Norwegian Research Center for AI Innovation": "norwai",
    "ADAPT Research Ireland Centre for AI-Driven Digital Content Technology": "adapt-centre",
    "Insight Research Ireland Centre for Data Analytics": "insight-centre",
    "Czech Institute of Informatics, Robotics and Cybernetics (CTU Prague)": "ciirc",
    "Stanford Institute for Human-Centered Artificial Intelligence": "stanford-hai",
    "ELLIS Alicante – Institute of Humanity-centric AI (Fundación ELLIS Alicante)": "ellis-alicante",
    "LIT Artificial Intelligence Lab / ELLIS Unit Linz (Johannes Kepler University)": "lit-ai-lab",
    "FARI – AI for the Common Good Institute": "fari",
    "Israel National Artificial Intelligence Program (National AI Program Directorate)": "israel-national-ai-program",
    "Center for Artificial Intelligence (C4AI) – USP/IBM/FAPESP": "c4ai",
    "Wadhwani Institute for Artificial Intelligence": "wadhwani-ai",
    "Trustworthy AI Dialogue Engine project (TAIDE)": "taide",
    "NII Research and Development Center for Large Language Models (LLMC) / LLM-jp": "nii-llmc",
    "Scale AI – Canada's AI Global Innovation Cluster": "scale-ai-canada",
    "Seoul National University AI Institute": "snu-ai-institute",
    "INSAIT – Institute for Computer Science, Artificial Intelligence and Technology": "insait",
    "Kempelen Institute of Intelligent Technologies": "kinit",
    "Qatar Computing Research Institute": "qcri",
    "International Research Centre on Artificial Intelligence": "ircai",
    "National Centre for Artificial Intelligence and Robotics": "ncair",
    "Centre for Artificial Intelligence Research": "cair",
    "Centro Nacional de Inteligencia Artificial": "cenia",
    "Fraunhofer Portugal Research Center for Assistive Information and Communication Solutions": "fraunhofer-aicos",
    "Archimedes Research Unit for Artificial Intelligence, Data Science and Algorithms": "archimedes",
    "National Center for Artificial Intelligence": "ncai",
    "Berlin Institute for the Foundations of Learning and Data": "bifold",
    "Lamarr Institute for Machine Learning and Artificial Intelligence": "lamarr-institute",
    "Munich Center for Machine Learning": "mcml",
    "Center for Scalable Data Analytics and Artificial Intelligence Dresden/Leipzig": "scads-ai",
    "Helmholtz AI – Helmholtz Artificial Intelligence Cooperation Unit": "helmholtz-ai",
    "hessian.AI – Hessian Center for Artificial Intelligence": "hessian-ai",
    "Canadian Artificial Intelligence Safety Institute": "canadian-ai-safety-institute",
    "Agencia Española de Supervisión de la Inteligencia Artificial": "aesia",
    "CeADAR – Centre for Applied Data Analytics Research": "ceadar",
    "Artificial Intelligence National Laboratory": "milab",
    "Institut national pour l'évaluation et la sécurité de l'intelligence artificielle": "inesia",
    "TÜBİTAK BİLGEM Artificial Intelligence Institute": "tubitak-bilgem-ai-institute",
    "Fraunhofer Institute for Intelligent Analysis and Information Systems": "fraunhofer-iais",
}

KIND_MAP = {
    "government": "government",
    "public research org": "public_research",
    "university": "university",
    "non-profit": "non_profit",
    "consortium/programme": "consortium",
}

BUDGET_KIND_MAP = {
    "annual": "annual",
    "annual (institutional base funding only)": "base_funding",
    "multi-year total": "multi_year",
    "initial/one-off": "one_off",
    "donation": "donation",
}

# --------------------------------------------------------------------------------------
# Parent links (child slug -> parent slug).  Only where the source names the parent,
# host or funder and that organisation is itself in the dataset.
#
# | child                     | parent | source wording                                                        |
# |---------------------------|--------|-----------------------------------------------------------------------|
# | vector-institute          | cifar  | parent_or_funder: "Government of Canada (via CIFAR Pan-Canadian AI     |
# |                           |        | Strategy)"                                                            |
# | mila                      | cifar  | parent_or_funder: "CIFAR (Pan-Canadian AI Strategy)"; notes: "C$44m   |
# |                           |        | from CIFAR"                                                           |
# | amii                      | cifar  | parent_or_funder: "CIFAR (Pan-Canadian AI Strategy)"; notes:          |
# |                           |        | "PCAIS/CIFAR-funded"                                                  |
# | korea-ai-safety-institute | etri   | parent_or_funder: "ETRI / Ministry of Science and ICT"; ETRI notes:   |
# |                           |        | "Hosts Korea AI Safety Institute (Nov 2024)"                          |
# | prairie                   | inria  | parent_or_funder: "Hosted by Inria (with CNRS, ENS and others)"       |
#
# Not linked: Cyber Valley -> MPI-IS (a partner, not a parent); Australia's National AI
# Centre -> CSIRO's Data61 (hosted 2021-2024 only, then moved to a department);
# MIAI / ANITI / 3IA Côte d'Azur (Inria is not named); ELLIS units (the ELLIS network
# is not an entry); hosts or funders that are not entries (RIKEN, AIST, NII, NUS, KAIST,
# ATRC, NIST, universities, ministries).
PARENTS = {
    "vector-institute": "cifar",
    "mila": "cifar",
    "amii": "cifar",
    "korea-ai-safety-institute": "etri",
    "prairie": "inria",
}

# --------------------------------------------------------------------------------------
# Budgets
# --------------------------------------------------------------------------------------

# period_end of the main (multi-year) figure, only where the source states the period.
# "over N years" from the figure's year Y gives Y+N-1; "through/to/by YYYY" gives YYYY.
PERIOD_END = {
    "mila": 2022,                    # "up to C$80m over 5 years (2018)"
    "amii": 2027,                    # "C$30m over 5 years ... (Jan 2023)"
    "ellis-institute-tubingen": 2031,  # "Hector Foundation (€100m over 10 years)", 2022
    "nairl": 2028,                   # "₩94.6bn combined by 2028"
    "global-ai-frontier-lab": 2028,  # "(₩45bn) and New York University (₩42bn) through 2028"
    "ai-singapore": 2021,            # "up to S$150m over 5 years", 2017
    "wasp": 2029,                    # "total SEK 5.5bn through 2029"
    "fcai": 2026,                    # "250 M€ in the next 8 years' (Jan 2019)"
    "ellis-institute-finland": 2027,  # "(€40m over 3 years)", 2025
    "indiaai-mission": 2028,         # "₹10,371.92 crore over 5 years", 2024
    "aiml": 2027,                    # "A$12m over four years announced 2024"
    "australia-national-ai-centre": 2024,  # "A$53.8m over four years", 2021
    "pioneer-centre-for-ai": 2033,   # "DKK 354m (~€47m) over 13 years (2021-2034)"
    "icai": 2032,                    # "10 years from 2023"
    "norwai": 2027,                  # "nearly NOK 300m ... over eight years", 2020
    "adapt-centre": 2026,            # "€42m SFI phase-2 award over six years (announced Feb 2021)"
    "insight-centre": 2024,          # "(announced Dec 2019, six years)"
    "lit-ai-lab": 2024,              # "€12m over eight years", 2017
    "fari": 2024,                    # "€10m over four years", 2021
    "israel-national-ai-program": 2027,  # "NIS 500m to 2027"
    "c4ai": 2028,                    # "up to US$20m over ten years", 2019
    "responsible-ai-uk": 2026,       # "£31m programme running four years", 2023
}
# Multi-year figures left without period_end (period not stated, or stated loosely):
# vector-institute, ivado, nsf-ai-institutes (cumulative total), kyutai (endowment),
# csiro-data61 ("over the forward estimates"), fondazione-fair ("about three years"),
# taide ("The period is not stated"), scale-ai-canada.

# Short note on what each main figure is, restating the source notes.
BUDGET_NOTES = {
    "alan-turing-institute": "About ₩84bn a year, as stated in a JoongAng Daily op-ed (29 Apr 2025), which gives the figure only in won and names no source for it; no Turing annual-accounts figure was retrievable.",
    "ai-security-institute": "Initial £100m committed in April 2023 to the Foundation Model Taskforce, the Institute's predecessor. A secondary source reports £66m a year (not verified against a primary source).",
    "vector-institute": "Government of Ontario's launch commitment; the launch also included up to C$40m federal and C$80m over 10 years from 31 companies. No annual operating budget retrieved.",
    "mila": "Quebec government, up to C$80m over 5 years.",
    "amii": "C$30m over 5 years invested in 20 new AI chairs at the University of Alberta (PCAIS/CIFAR-funded).",
    "cifar": "Figure from Wikipedia (secondary source).",
    "ivado": "Second Canada First Research Excellence Fund (CFREF) award (May 2023).",
    "nsf-ai-institutes": "'Approaching US$500m' cumulative programme total (27 institutes by 2024); up to US$20m per institute over 5 years.",
    "us-ai-safety-institute": "Up to US$10m in FY2024 appropriations (from NIST's existing allocation).",
    "inria": "2011 initial budget, the most recent explicit figure retrieved.",
    "kyutai": "'Nearly €300m' endowment announced 17 Nov 2023 (~€100m each from Iliad, CMA CGM and the Schmidt fund).",
    "dfki": "Institutional funding only: up to €11m a year from BMBF plus up to €11m a year from the host states (Dec 2022 evaluation, for the next 7 years).",
    "ellis-institute-tubingen": "Hector Foundation, €100m over 10 years; the State of Baden-Württemberg adds €25m (administration).",
    "kaist-gsai": "Donation of ₩50bn over 10 years (Dec 2020).",
    "nairl": "₩94.6bn combined by 2028: ₩36bn state plus at least ₩50bn local government/corporate in-kind and cash.",
    "global-ai-frontier-lab": "Korean government share only; New York University contributes ₩42bn. Through 2028.",
    "ai-singapore": "Up to S$150m over 5 years (launched May 2017 as AI.SG).",
    "wasp": "Total programme funding through 2029, including partner funding (Dec 2019 decision); the Knut and Alice Wallenberg Foundation provides SEK 4.2bn. The programme started earlier (sources differ: 2014 vs 2015).",
    "fcai": "'Total budget of FCAI is 250 M€ in the next 8 years' (Jan 2019).",
    "ellis-institute-finland": "Finnish Ministry of Education and Culture, €40m over 3 years. The source is a proxy copy of a Yle article.",
    "indiaai-mission": "₹10,371.92 crore over 5 years, approved by the Cabinet on 7 Mar 2024.",
    "csiro-data61": "A$75m additional appropriation in the National Innovation and Science Agenda (Dec 2015), A$25m a year over the forward estimates from 2016-17; not Data61's total budget.",
    "aiml": "A$12m over four years (A$6m from the South Australian Government, matched by the University).",
    "australia-national-ai-centre": "A$53.8m over four years in the 2021-22 federal budget, under the A$124.1m AI Action Plan.",
    "fondazione-fair": "MUR/PNRR grant; PNRR-funded activity covered about three years.",
    "pioneer-centre-for-ai": "DKK 354m over 13 years (2021-2034) per the centre.",
    "icai": "ICAI's ROBUST long-term programme only (10 years from 2023), not ICAI as a whole; other sources give 'over €87.3m'.",
    "norwai": "'Nearly NOK 300m' from the Research Council and partners over eight years (recorded as 300m).",
    "ideas-ncbr": "2023 total costs per the Ministry of Science statement, i.e. actual annual spending, not an approved budget.",
    "adapt-centre": "SFI phase-2 award over six years (announced Feb 2021), excluding industry co-funding.",
    "insight-centre": "SFI phase-2 award (announced Dec 2019, six years).",
    "barcelona-supercomputing-center": "'More than €34m' annual global budget in 2018, from Wikipedia (secondary source).",
    "ellis-alicante": "€1.5m committed in the Generalitat Valenciana 2021 budget, equal to the ELLIS minimum annual unit budget.",
    "lit-ai-lab": "€12m over eight years from the State of Upper Austria for the new AI Lab (year inferred from article context).",
    "fari": "€10m over four years from the Brussels-Capital Region under the recovery plan.",
    "israel-national-ai-program": "Phase 2 of the national programme (announced Sept 2024), NIS 500m to 2027.",
    "c4ai": "Up to US$20m over ten years: FAPESP and IBM up to US$500k a year each, USP up to US$1m a year in kind.",
    "wadhwani-school-of-data-science-and-ai": "₹110 crore donation from alumnus Sunil Wadhwani (MoU signed 30 Jan 2024).",
    "wadhwani-ai": "US$30m committed by the founders for the first ten years (philanthropic).",
    "taide": "NT$230m earmarked for TAIDE (early 2024) out of up to NT$17.4bn for AI through 2026; the period is not stated, so 'multi-year total' is approximate.",
    "scale-ai-canada": "C$230m federal contribution agreement (6 Dec 2018); Quebec added C$60m.",
    "responsible-ai-uk": "£31m programme running four years.",
}

# Further figures, taken only where the source data gives amount, currency, year and a
# source URL for them.  Each is pulled from a programs.json entry about the institute.
EXTRA_BUDGETS = {
    "alan-turing-institute": [{
        "program": ("GB", "UKRI/EPSRC investment in the Alan Turing Institute"),
        "kind": "multi_year",
        "period_end": 2028,  # "5 years", announced 2024
        "note": "£100m over 5 years from UKRI/EPSRC (Turing 2.0 strategy).",
        "notes_must_mention": "£100m over 5 years from UKRI/EPSRC",
    }],
}

# --------------------------------------------------------------------------------------
# Headcounts: whether the source's basis counts researchers or staff.  Decided by the
# first keyword in the basis text, with explicit overrides where that would mislead.
# --------------------------------------------------------------------------------------

RESEARCHER_WORDS = ["researcher", "scientist", "faculty", "professor", "scholar",
                    "community", "members", "membership", "pesquisador"]
STAFF_WORDS = ["staff", "employee", "personnel", "team member", "workforce", "worker",
               "collaborator", "mitarbeiter"]
HEADCOUNT_OVERRIDES = {
    "inria": "staff",        # "scientifiques et personnels d'appui" (scientists and support staff)
    "baai": "researchers",   # "research team of 260+ (94 part-time 'BAAI scholars' + ...)"
    "idsia": "staff",        # "collaborators" (Italian "collaboratori": the people working there)
}

# --------------------------------------------------------------------------------------
# Sectors
# --------------------------------------------------------------------------------------

SECTORS = [
    ("machine-learning", "Machine Learning & AI Foundations",
     "Core machine learning and AI research: deep and reinforcement learning, learning theory, algorithms, reasoning and fundamental AI."),
    ("data-science", "Data Science & Analytics",
     "Data science, analytics, operations research, optimisation and data platforms."),
    ("language", "Language Technology",
     "Natural language processing, machine translation, speech and language models, including national-language LLMs."),
    ("foundation-models", "Foundation Models",
     "Large-scale and multimodal foundation models and research on scaling them."),
    ("computer-vision", "Computer Vision & Perception",
     "Computer vision, image understanding and machine perception."),
    ("robotics", "Robotics & Autonomous Systems",
     "Robotics, embodied and physical AI, haptics and autonomous systems."),
    ("open-source", "Open Science & Open-Source AI",
     "Openly released models, code and data, and open, transparent AI research."),
    ("ai-safety", "AI Safety & Trustworthy AI",
     "Safety evaluation and testing of AI systems, red-teaming, robustness, explainability and trustworthy AI."),
    ("ethics-policy", "Ethics, Society & Policy",
     "AI ethics, law, regulation, standards, data governance, and the social and economic effects of AI, including AI for social good."),
    ("healthcare", "Healthcare",
     "AI for medicine, public health, biomedical research and social care."),
    ("environment", "Environment & Climate",
     "AI for the environment, climate, sustainability and earth systems."),
    ("energy", "Energy",
     "AI for energy systems and the energy transition."),
    ("transport", "Transport, Mobility & Logistics",
     "AI for mobility, aeronautics, transport, logistics and supply chains."),
    ("agriculture", "Agriculture & Food",
     "AI for agriculture, pest management and food production."),
    ("finance", "Finance",
     "AI for finance and financial services."),
    ("defense-security", "Defence & Security",
     "Defence and national security, CBRN risk, crime, fraud and law enforcement."),
    ("cybersecurity", "Cybersecurity & Privacy",
     "Cybersecurity, cryptography, secure systems, cyber misuse and privacy-preserving technologies."),
    ("media-information", "Media & Information Integrity",
     "Digital content and media, recommender systems, and detection of deepfakes, synthetic content and disinformation."),
    ("public-sector", "Public Sector & Government",
     "AI in government and public services, national AI strategy and capability, smart cities and disaster response."),
    ("education-talent", "Education & Talent",
     "AI education, graduate training, research chairs and professorships, and skills."),
    ("industry-adoption", "Industry Adoption & Innovation",
     "Technology transfer, industrial AI, adoption by companies and SMEs, start-ups and regional innovation ecosystems."),
    ("hpc-infrastructure", "Compute & Infrastructure",
     "High-performance and AI computing, national compute infrastructure, cloud, chips and computer architecture."),
    ("telecommunications", "Telecommunications & Networks",
     "Network communications, 6G and network intelligence."),
    ("quantum", "Quantum Technologies",
     "Quantum computing and quantum technologies."),
    ("science", "AI for Science & Mathematics",
     "AI for scientific discovery (astronomy, materials, life and earth sciences), mathematics and interdisciplinary research."),
]

# Every focus area in the source -> sector slugs ([] = too generic to map).
FOCUS_SECTORS = {
    "data science": ["data-science"],
    "AI": ["machine-learning"],
    "health": ["healthcare"],
    "environment and sustainability": ["environment"],
    "defence and national security": ["defense-security"],
    "frontier AI evaluation": ["ai-safety"],
    "AI security": ["ai-safety"],
    "cyber misuse": ["cybersecurity"],
    "CBRN risk": ["defense-security"],
    "crime/fraud": ["defense-security"],
    "machine learning": ["machine-learning"],
    "deep learning": ["machine-learning"],
    "health AI": ["healthcare"],
    "AI adoption in industry": ["industry-adoption"],
    "talent": ["education-talent"],
    "reinforcement learning": ["machine-learning"],
    "language modelling": ["language"],
    "socially beneficial AI": ["ethics-policy"],
    "energy": ["energy"],
    "agriculture": ["agriculture"],
    "AI adoption": ["industry-adoption"],
    "Pan-Canadian AI Strategy": [],
    "Canada CIFAR AI Chairs": ["education-talent"],
    "AI & society": ["ethics-policy"],
    "interdisciplinary research programs": ["science"],
    "operations research": ["data-science"],
    "transport & logistics": ["transport"],
    "finance": ["finance"],
    "NLP": ["language"],
    "open language models": ["language", "open-source"],
    "common-sense reasoning": ["machine-learning"],
    "computer vision": ["computer-vision"],
    "AI for science (Semantic Scholar)": ["science"],
    "trustworthy AI": ["ai-safety"],
    "AI for agriculture": ["agriculture"],
    "AI for climate": ["environment"],
    "AI for education": ["education-talent"],
    "cybersecurity": ["cybersecurity"],
    "AI for astronomy/materials": ["science"],
    "AI safety evaluation": ["ai-safety"],
    "standards": ["ethics-policy"],
    "red-teaming": ["ai-safety"],
    "synthetic content authentication": ["media-information"],
    "digital science": [],
    "quantum computing": ["quantum"],
    "environment": ["environment"],
    "education": ["education-talent"],
    "transport": ["transport"],
    "aeronautics": ["transport"],
    "regional development": ["industry-adoption"],
    "open science": ["open-source"],
    "multimodal foundation models": ["foundation-models"],
    "open-source AI": ["open-source"],
    "human-centric AI": ["ethics-policy"],
    "Industrie 4.0": ["industry-adoption"],
    "robotics": ["robotics"],
    "language technology": ["language"],
    "technology transfer": ["industry-adoption"],
    "haptic intelligence": ["robotics"],
    "physical intelligence": ["robotics"],
    "start-up ecosystem": ["industry-adoption"],
    "robust/causal learning systems": ["machine-learning"],
    "fundamental AI research": ["machine-learning"],
    "fundamental ML theory": ["machine-learning"],
    "AI for science": ["science"],
    "societal applications (medicine, disaster)": ["healthcare", "public-sector"],
    "AI ethics/law": ["ethics-policy"],
    "human-compatible AI": [],
    "real-world AI": [],
    "AI infrastructure (ABCI)": ["hpc-infrastructure"],
    "AI safety evaluation standards": ["ai-safety", "ethics-policy"],
    "testing tools": ["ai-safety"],
    "disinformation countermeasures": ["media-information"],
    "international coordination": [],
    "AI graduate education": ["education-talent"],
    "AI convergence": [],
    "AI computing": ["hpc-infrastructure"],
    "AI robots": ["robotics"],
    "6G": ["telecommunications"],
    "metaverse": ["media-information"],
    "mobility": ["transport"],
    "semiconductors": ["hpc-infrastructure"],
    "neural scaling laws": ["foundation-models"],
    "robot foundation models": ["robotics", "foundation-models"],
    "international joint research": [],
    "AI talent": ["education-talent"],
    "AI risk research": ["ai-safety"],
    "safety evaluation": ["ai-safety"],
    "deepfake detection": ["media-information"],
    "international AISI network": [],
    "foundational algorithms": ["machine-learning"],
    "trustworthy/responsible AI": ["ai-safety", "ethics-policy"],
    "healthcare AI": ["healthcare"],
    "city management": ["public-sector"],
    "healthcare": ["healthcare"],
    "industry adoption": ["industry-adoption"],
    "SEA-LION LLM": ["language"],
    "artificial general intelligence": ["machine-learning"],
    "resilient & safe AI": ["ai-safety"],
    "sustainable AI": [],
    "large models (WuDao, Aquila)": ["foundation-models"],
    "embeddings (BGE)": ["language"],
    "multimodal": ["foundation-models"],
    "embodied AI": ["robotics"],
    "AI safety": ["ai-safety"],
    "foundation models (InternLM, InternVL)": ["foundation-models"],
    "AI safety & evaluation (OpenCompass)": ["ai-safety"],
    "network communications": ["telecommunications"],
    "cyberspace security": ["cybersecurity"],
    "network intelligence / AI": ["telecommunications"],
    "Pengcheng Cloud Brain compute": ["hpc-infrastructure"],
    "foundation models": ["foundation-models"],
    "AI (Falcon LLMs)": ["language", "foundation-models"],
    "quantum": ["quantum"],
    "autonomous robotics": ["robotics"],
    "cryptography": ["cybersecurity"],
    "advanced materials": ["science"],
    "secure systems": ["cybersecurity"],
    "national data & AI strategy": ["public-sector"],
    "data governance": ["ethics-policy"],
    "government cloud": ["public-sector", "hpc-infrastructure"],
    "AI ethics & regulation": ["ethics-policy"],
    "probabilistic/causal AI": ["machine-learning"],
    "optimisation": ["data-science"],
    "industrial & biomedical AI": ["industry-adoption", "healthcare"],
    "open, transparent LLMs": ["language", "open-source"],
    "national foundation model": ["foundation-models"],
    "medicine": ["healthcare"],
    "climate science": ["environment"],
    "mathematics": ["science"],
    "computer science": ["science"],
    "data & intelligent systems": ["data-science"],
    "machine learning & explainable AI": ["machine-learning", "ai-safety"],
    "mathematical foundations of AI": ["machine-learning"],
    "autonomous systems": ["robotics"],
    "software": [],
    "fundamental ML": ["machine-learning"],
    "data-efficient & trustworthy AI": ["machine-learning", "ai-safety"],
    "human-AI interaction": [],
    "AI applications": [],
    "AI professorships across 13 universities": ["education-talent"],
    "public AI compute (10,000+ GPUs)": ["hpc-infrastructure"],
    "indigenous foundation models": ["foundation-models"],
    "datasets platform": ["data-science"],
    "startup financing": ["industry-adoption"],
    "safe & trusted AI": ["ai-safety"],
    "skills": ["education-talent"],
    "AI and machine learning": ["machine-learning"],
    "privacy-preserving technologies": ["cybersecurity"],
    "data analytics": ["data-science"],
    "software and decision sciences": ["data-science"],
    "industrial AI for SMEs": ["industry-adoption"],
    "defence AI": ["defense-security"],
    "augmented reasoning": ["machine-learning"],
    "coordination of national AI capability": ["public-sector"],
    "SME AI adoption": ["industry-adoption"],
    "responsible AI": ["ethics-policy"],
    "AI ecosystem": ["industry-adoption"],
    "human-centred AI": ["ethics-policy"],
    "adaptive AI": ["machine-learning"],
    "AI ethics and law": ["ethics-policy"],
    "explainability & fair AI": ["ai-safety", "ethics-policy"],
    "AI for societal challenges (health, climate, energy)": ["healthcare", "environment", "energy"],
    "public-private AI labs": ["industry-adoption"],
    "logistics": ["transport"],
    "AI talent (PhD)": ["education-talent"],
    "language technology (Norwegian LLMs)": ["language"],
    "media and recommender systems": ["media-information"],
    "trustworthy/ethical AI": ["ai-safety", "ethics-policy"],
    "industrial ML": ["industry-adoption"],
    "algorithms": ["machine-learning"],
    "AI for science and health": ["science", "healthcare"],
    "AI talent / PhD training": ["education-talent"],
    "AI-driven digital content": ["media-information"],
    "NLP and machine translation": ["language"],
    "data governance and AI standards": ["ethics-policy"],
    "AI ethics/accountability": ["ethics-policy"],
    "misinformation detection": ["media-information"],
    "digital health": ["healthcare"],
    "smart cities/sensors": ["public-sector"],
    "climate AI": ["environment"],
    "machine learning and computer vision": ["machine-learning", "computer-vision"],
    "automated reasoning": ["machine-learning"],
    "industrial AI / Industry 4.0 (RICAIP testbed)": ["industry-adoption"],
    "cybernetics": [],
    "AI policy (AI Index, national research cloud)": ["ethics-policy"],
    "AI and society/economy": ["ethics-policy"],
    "AI for health and science": ["healthcare", "science"],
    "high-performance computing (MareNostrum)": ["hpc-infrastructure"],
    "AI and Spanish/Catalan language models": ["language"],
    "computer architecture": ["hpc-infrastructure"],
    "life sciences": ["science"],
    "earth sciences": ["science", "environment"],
    "humanity-centric / ethical AI": ["ethics-policy"],
    "modelling human behaviour with ML": ["machine-learning"],
    "interactive intelligent systems": [],
    "AI for social good": ["ethics-policy"],
    "deep learning (LSTM/xLSTM)": ["machine-learning"],
    "logical reasoning / SAT": ["machine-learning"],
    "computational perception": ["computer-vision"],
    "AI in industry": ["industry-adoption"],
    "trustworthy/explainable AI": ["ai-safety"],
    "AI for public services": ["public-sector"],
    "environment and energy": ["environment", "energy"],
    "AI, data and society": ["ethics-policy"],
    "AI compute and R&D infrastructure": ["hpc-infrastructure"],
    "planned national AI research institute": [],
    "Hebrew/Arabic NLP": ["language"],
    "AI talent (academia and IDF)": ["education-talent"],
    "AI in the public sector": ["public-sector"],
    "regulatory sandboxes": ["ethics-policy"],
    "NLP for Brazilian Portuguese": ["language"],
    "AI for health": ["healthcare"],
    "environment and climate": ["environment"],
    "agribusiness / food production": ["agriculture"],
    "future of work": ["ethics-policy"],
    "foundational and applied AI research": ["machine-learning"],
    "AI policy advice to government": ["ethics-policy", "public-sector"],
    "public health (TB, frontline health workers)": ["healthcare"],
    "agriculture (pest management)": ["agriculture"],
    "Traditional-Chinese LLMs": ["language"],
    "sovereign AI": ["public-sector"],
    "translation and summarisation": ["language"],
    "fully open Japanese LLMs (LLM-jp-3 172B, LLM-jp-4)": ["language", "open-source"],
    "training corpora": ["data-science"],
    "LLM transparency and reliability": ["ai-safety"],
    "evaluation and safety": ["ai-safety"],
    "AI-powered supply chains": ["transport"],
    "applied AI adoption by industry": ["industry-adoption"],
    "AI training/talent": ["education-talent"],
    "SME AI projects": ["industry-adoption"],
    "core AI (learning, vision, language, robotics)": ["machine-learning", "computer-vision", "language", "robotics"],
    "AI systems and chips": ["hpc-infrastructure"],
    "AI+X (bio, medicine, finance, humanities)": ["healthcare", "finance", "science"],
    "AI law and ethics": ["ethics-policy"],
    "responsible and trustworthy AI": ["ethics-policy", "ai-safety"],
    "AI in health and social care": ["healthcare"],
    "AI in law enforcement": ["defense-security"],
    "AI in financial services": ["finance"],
    "AI policy and regulation evidence": ["ethics-policy"],
}
MAX_SECTORS = 5  # sectors are taken in the order of the source's focus areas, first five kept

# --------------------------------------------------------------------------------------
# Programmes: (jurisdiction, source programme name) -> slug
# --------------------------------------------------------------------------------------

PROGRAM_SLUGS = {
    ("US", "Stargate Project (private JV announced at the White House)"): "stargate-project",
    ("FR", "AI investment package announced by President Macron before the AI Action Summit"): "france-ai-action-summit-investment-package",
    ("JP", "Public support for semiconductors and AI by FY2030 (Ishiba)"): "japan-semiconductor-ai-support-fy2030",
    ("EU", "InvestAI (European Commission)"): "investai",
    ("KR", "National Growth Fund (AI, semiconductors, bio, etc.)"): "korea-national-growth-fund",
    ("KR", "Private-sector AI investment pledges at Presidential Committee on AI launch"): "korea-private-ai-investment-pledges-2024",
    ("CA", "Pan-Canadian Artificial Intelligence Strategy (phase 1, via CIFAR)"): "pan-canadian-ai-strategy-phase-1",
    ("CA", "Pan-Canadian AI Strategy renewal (Budget 2021)"): "pan-canadian-ai-strategy-renewal-2021",
    ("CA", "Budget 2024 AI package (compute access fund etc.)"): "canada-budget-2024-ai-package",
    ("DE", "National AI Strategy federal funding through 2025"): "germany-national-ai-strategy-federal-funding",
    ("FR", "3IA interdisciplinary AI institutes (PIA3)"): "france-3ia-institutes-pia3",
    ("CN", "National AI Industry Investment Fund"): "china-national-ai-industry-investment-fund",
    ("IN", "IndiaAI Mission"): "indiaai-mission",
    ("SG", "AI.SG / AI Singapore national programme"): "ai-singapore-national-programme",
    ("SG", "National AI R&D Plan (NAIRD)"): "singapore-national-ai-rd-plan",
    ("US", "NSF National AI Research Institutes (cumulative)"): "nsf-national-ai-research-institutes",
    ("GB", "UKRI/EPSRC investment in the Alan Turing Institute"): "ukri-epsrc-alan-turing-institute-2024",
    ("SE", "WASP (Knut and Alice Wallenberg Foundation)"): "wasp-wallenberg-programme",
}

# --------------------------------------------------------------------------------------
# UN M49: sub-region -> region (the M49 hierarchy; sub-regions of Africa and of Latin
# America and the Caribbean are the M49 intermediate regions, e.g. "Eastern Africa").
# --------------------------------------------------------------------------------------

M49_REGION_OF = {
    "Northern Africa": "Africa", "Eastern Africa": "Africa", "Middle Africa": "Africa",
    "Southern Africa": "Africa", "Western Africa": "Africa",
    "Caribbean": "Americas", "Central America": "Americas", "South America": "Americas",
    "Northern America": "Americas",
    "Central Asia": "Asia", "Eastern Asia": "Asia", "South-eastern Asia": "Asia",
    "Southern Asia": "Asia", "Western Asia": "Asia",
    "Eastern Europe": "Europe", "Northern Europe": "Europe", "Southern Europe": "Europe",
    "Western Europe": "Europe",
    "Australia and New Zealand": "Oceania", "Melanesia": "Oceania", "Micronesia": "Oceania",
    "Polynesia": "Oceania",
}


# ======================================================================================


# The source names a few unverified fields by its own column names; the record's are these.
UNVERIFIED_FIELD = {"founded_year": "founded", "name (CAISI rename)": "name"}
RECORD_FIELDS = {"slug", "name", "acronym", "aliases", "kind", "status", "country", "city",
                 "founded", "website", "description", "sectors", "parent", "external_ids"}

# Sentences about how the source table was compiled, not about the institute; the fields they
# concern are flagged in `unverified_fields` instead.
COMPILATION_NOTE = re.compile(r"[^.;]*(?:from general knowledge|Added to cover)[^.;]*[.;]\s*")


def drop_compilation_notes(text):
    if not text:
        return text
    text = COMPILATION_NOTE.sub("", text).strip()
    return text or None

def clean(text):
    """Strip the source's warning markers and surrounding whitespace; empty -> None."""
    if text is None:
        return None
    text = re.sub(r"\s*⚠\s*(unverified)?", " ", str(text)).strip()
    return text or None


def slugify(name):
    folded = unicodedata.normalize("NFKD", name)
    folded = "".join(c for c in folded if not unicodedata.combining(c)).lower()
    words = re.split(r"[^a-z0-9]+", folded)
    return "-".join(w for w in words if w)[:100].strip("-")


def default_slug(name):
    name = re.sub(r"\s*\([^)]*\)", "", name)
    name = re.sub(r"^The\s+", "", name)
    return slugify(name)


def dedupe(items, exclude):
    seen = {e.casefold() for e in exclude if e}
    out = []
    for item in items:
        if item and item.casefold() not in seen:
            seen.add(item.casefold())
            out.append(item)
    return out


def headcount_field(slug, basis):
    if slug in HEADCOUNT_OVERRIDES:
        return HEADCOUNT_OVERRIDES[slug]
    low = basis.lower()
    hits = []
    for field, words in (("researchers", RESEARCHER_WORDS), ("staff", STAFF_WORDS)):
        for w in words:
            i = low.find(w)
            if i >= 0:
                hits.append((i, field))
    if not hits:
        raise SystemExit(f"headcount basis of {slug} matches no keyword: {basis!r}")
    return min(hits)[1]


def build_institutes(src, programs_src, report):
    institutes = []
    programs_by_key = {(p["country"], p["program"]): p for p in programs_src}
    for r in src:
        src_name = clean(r["name"])
        if ("(" in src_name or " / " in src_name) and src_name not in NAME_SPLITS:
            raise SystemExit(f"name needs an entry in NAME_SPLITS: {src_name}")
        name, aliases = NAME_SPLITS.get(src_name, (src_name, []))
        aliases = list(aliases)

        acronym = clean(r["acronym"])
        if acronym in ACRONYM_SPLITS:
            acronym, extra = ACRONYM_SPLITS[acronym]
            aliases.append(extra)
        aliases += NOTE_ALIASES.get(acronym, [])
        aliases = dedupe(aliases, [name, acronym])

        slug = SLUG_OVERRIDES.get(src_name) or default_slug(name)

        sectors = []
        for area in r["focus_areas"]:
            if area not in FOCUS_SECTORS:
                raise SystemExit(f"focus area without a mapping: {area!r}")
            for s in FOCUS_SECTORS[area]:
                if s not in sectors:
                    sectors.append(s)
        if len(sectors) > MAX_SECTORS:
            report["sectors_truncated"].append((slug, sectors[MAX_SECTORS:]))
            sectors = sectors[:MAX_SECTORS]
        sectors = sorted(sectors)

        budgets = []
        if r["budget_amount"] is not None:
            kind = BUDGET_KIND_MAP[r["budget_type"]]
            budgets.append({
                "year": int(r["budget_year"]),
                "kind": kind,
                "amount": int(r["budget_amount"]),
                "currency": r["budget_currency"],
                "period_end": PERIOD_END.get(slug) if kind == "multi_year" else None,
                "source": r["budget_source"],
                "note": BUDGET_NOTES.get(slug),
            })
        for extra in EXTRA_BUDGETS.get(slug, []):
            p = programs_by_key[extra["program"]]
            assert extra["notes_must_mention"] in r["notes"], slug
            budgets.append({
                "year": int(p["year_announced"]),
                "kind": extra["kind"],
                "amount": int(p["amount"]),
                "currency": p["currency"],
                "period_end": extra["period_end"],
                "source": p["source"],
                "note": extra["note"],
            })

        headcounts = []
        for h in [r] + list(r.get("extra_headcounts") or []):
            if h["headcount"] is None:
                continue
            if h["headcount_year"] is None:
                report["headcounts_dropped"].append((slug, h["headcount"], h["headcount_basis"]))
                continue
            field = headcount_field(slug, h["headcount_basis"])
            report["headcount_fields"].append((slug, field, h["headcount_basis"]))
            headcounts.append({
                "year": int(h["headcount_year"]),
                "researchers": int(h["headcount"]) if field == "researchers" else None,
                "staff": int(h["headcount"]) if field == "staff" else None,
                "basis": h["headcount_basis"],
                "source": h["headcount_source"],
            })
        headcounts.sort(key=lambda x: x["year"])

        founded = clean(r["founded_year"])
        description = drop_compilation_notes(clean(r["notes"]))
        if description and len(description) > 2000:
            description = description[:1997].rsplit(" ", 1)[0] + "…"

        institutes.append({
            "slug": slug,
            "name": name,
            "acronym": acronym,
            "aliases": aliases,
            "kind": KIND_MAP[r["legal_type"]],
            "status": "active",
            "country": r["country"],
            "city": clean(r["city"]),
            "founded": int(founded) if founded is not None else None,
            "website": clean(r["website"]),
            "description": description,
            "sectors": sectors,
            "parent": PARENTS.get(slug),
            "external_ids": external_ids(r),
            "budgets": budgets,
            "headcounts": headcounts,
            "unverified_fields": sorted({UNVERIFIED_FIELD.get(f, f) for f in r["unverified_fields"]}),
        })
    return institutes


def external_ids(r):
    """The source's `ror_id`; Wikidata / GRID ids only if they literally appear in the row."""
    text = json.dumps(r, ensure_ascii=False)
    ids = {}
    if r.get("ror_id"):
        m = re.fullmatch(r"https://ror\.org/(0[a-z0-9]{8})", r["ror_id"])
        if not m:
            raise SystemExit(f"ror_id is not a ROR URL: {r['ror_id']!r}")
        ids["ror"] = m.group(1)
    m = re.search(r"wikidata\.org/(?:wiki|entity)/(Q[0-9]+)\b", text)
    if m:
        ids["wikidata"] = m.group(1)
    m = re.search(r"\b(grid\.[0-9]+\.[0-9a-f]+)\b", text)
    if m:
        ids["grid"] = m.group(1)
    return ids


def build_programs(src):
    out = []
    for p in src:
        key = (p["country"], p["program"])
        if key not in PROGRAM_SLUGS:
            raise SystemExit(f"programme without a slug: {key}")
        out.append({
            "slug": PROGRAM_SLUGS[key],
            "jurisdiction": p["country"],
            "name": p["program"],
            "amount": int(p["amount"]),
            "currency": p["currency"],
            "announced": int(p["year_announced"]),
            "period": clean(p.get("period")),
            "public_or_private": clean(p.get("public_or_private")),
            "source": p["source"],
            "description": clean(p.get("notes")),
        })
    return out


def package_dir(name):
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit(f"package {name} is not installed (see the docstring)")
    return list(spec.submodule_search_locations)[0]


def build_countries():
    import pycountry

    currency = country_currencies()

    tsv = os.path.join(package_dir("country_converter"), "country_data.tsv")
    subregion = {}
    with open(tsv, encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f, delimiter="\t"):
            # ISO2 is a regex in a few rows, e.g. "^GB$|^UK$".
            for code in re.findall(r"\b([A-Z]{2})\b", row["ISO2"]):
                if row["obsolete"]:
                    continue
                subregion.setdefault(code, row["UNregion"])
    rows = []
    for c in sorted(pycountry.countries, key=lambda c: c.alpha_2):
        name = getattr(c, "common_name", None) or c.name
        sub = subregion.get(c.alpha_2)
        if sub is None:
            raise SystemExit(f"no M49 sub-region for {c.alpha_2}")
        if c.alpha_2 == "AQ":
            region, sub = "Antarctica", ""
        else:
            region = M49_REGION_OF[sub]
        rows.append((c.alpha_2, name, region, sub, "country", currency.get(c.alpha_2, "")))
    rows.append(("EU", "European Union", "Europe", "", "union", "EUR"))
    return rows


# Countries whose ISO 4217 entry names several currencies in use (besides fund codes), or
# whose ISO entry name does not match pycountry's: the currency the country's own figures
# (the World Bank's "local currency units") are in.  None: no single local currency.
CURRENCY_OF = {
    "BT": "BTN", "HT": "HTG", "LS": "LSL", "NA": "NAD", "PA": "PAB", "UY": "UYU", "VE": "VES",
    "SV": "USD",  # dollarised since 2001; the World Bank's LCU for El Salvador is the US dollar
    "CC": "AUD", "FK": "FKP", "VA": "EUR",
    "AQ": None, "GS": None, "PS": None,
}


def country_currencies():
    """ISO 3166 alpha-2 -> the ISO 4217 currency of the country (List One, fund codes left
    out), matching ISO 4217's entity names to pycountry's names; CURRENCY_OF decides the rest."""
    import pycountry

    def norm(text):
        text = unicodedata.normalize("NFKD", text)
        text = "".join(c for c in text if not unicodedata.combining(c)).upper()
        return re.sub(r"[^A-Z]+", " ", text).strip()

    names = {}
    for c in pycountry.countries:
        for attr in ("name", "official_name", "common_name"):
            value = getattr(c, attr, None)
            if value:
                names.setdefault(norm(value), c.alpha_2)
    found = {}
    root = ET.parse(os.path.join(package_dir("iso4217"), "table.xml")).getroot()
    for node in root.findall("CcyTbl/CcyNtry"):
        code = (node.findtext("Ccy") or "").strip()
        if not code or node.find("CcyNm").attrib.get("IsFund"):
            continue
        entity = node.findtext("CtryNm").strip()
        forms = [norm(entity)]
        m = re.match(r"^(.*?) \((?:THE )?(.*)\)$", entity)
        if m:
            forms += [norm(m.group(2) + " " + m.group(1)), norm(m.group(1) + " " + m.group(2)),
                      norm(m.group(1))]
        forms += [re.sub(r"^THE ", "", f) for f in forms]
        alpha_2 = next((names[f] for f in forms if f in names), None)
        if alpha_2:
            found.setdefault(alpha_2, []).append(code)
    out = {}
    for c in pycountry.countries:
        codes = found.get(c.alpha_2, [])
        if c.alpha_2 in CURRENCY_OF:
            if CURRENCY_OF[c.alpha_2]:
                out[c.alpha_2] = CURRENCY_OF[c.alpha_2]
        elif len(codes) == 1:
            out[c.alpha_2] = codes[0]
        else:
            raise SystemExit(f"currency of {c.alpha_2} needs an entry in CURRENCY_OF: {codes}")
    return out


def build_currencies():
    xml_path = os.path.join(package_dir("iso4217"), "table.xml")
    root = ET.parse(xml_path).getroot()
    published = root.attrib.get("Pblshd")
    table = {}
    for node in root.findall("CcyTbl/CcyNtry"):
        code = node.findtext("Ccy")
        if not code:
            continue
        code = code.strip()
        name = node.findtext("CcyNm").strip()
        units = (node.findtext("CcyMnrUnts") or "").strip()
        table.setdefault(code, (code, name, units if units.isdigit() else ""))
    return [table[k] for k in sorted(table)], published


def write_json(path, data):
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        json.dump(data, f, ensure_ascii=False, indent=2)
        f.write("\n")


def write_csv(path, header, rows):
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)


def read_rates(path):
    with open(path, encoding="utf-8", newline="") as f:
        reader = csv.reader(f)
        header = next(reader)
        rows = list(reader)
    return header, rows


def main(argv):
    source = os.path.abspath(argv[1]) if len(argv) > 1 else os.path.abspath(DEFAULT_SOURCE)
    with open(os.path.join(source, "institutes.json"), encoding="utf-8") as f:
        inst_src = json.load(f)
    with open(os.path.join(source, "programs.json"), encoding="utf-8") as f:
        prog_src = json.load(f)

    report = {"sectors_truncated": [], "headcounts_dropped": [], "headcount_fields": []}
    institutes = build_institutes(inst_src, prog_src, report)
    programs = build_programs(prog_src)
    sectors = [{"slug": s, "name": n, "description": d} for s, n, d in SECTORS]
    countries = build_countries()
    currencies, iso4217_published = build_currencies()

    rates_header, rates_rows = read_rates(os.path.join(source, "exchange_rates.csv"))
    if rates_header != ["currency", "year", "units_per_usd", "source"]:
        raise SystemExit(f"unexpected exchange_rates.csv header: {rates_header}")

    # ---------------------------------------------------------------- validation
    assert len(institutes) == len(inst_src), (len(institutes), len(inst_src))
    assert len(programs) == len(prog_src), (len(programs), len(prog_src))
    slugs = [i["slug"] for i in institutes]
    assert len(set(slugs)) == len(slugs), "duplicate institute slugs"
    assert all(SLUG_RE.match(s) for s in slugs), [s for s in slugs if not SLUG_RE.match(s)]
    assert institutes[0]["slug"] == "alan-turing-institute"
    pslugs = [p["slug"] for p in programs]
    assert len(set(pslugs)) == len(pslugs) and all(SLUG_RE.match(s) for s in pslugs)

    sector_slugs = [s["slug"] for s in sectors]
    assert 15 <= len(sector_slugs) <= 25 and len(set(sector_slugs)) == len(sector_slugs)
    assert all(SLUG_RE.match(s) for s in sector_slugs)
    assert set(s for targets in FOCUS_SECTORS.values() for s in targets) <= set(sector_slugs)
    used = {}
    for i in institutes:
        assert 1 <= len(i["sectors"]) <= MAX_SECTORS, (i["slug"], i["sectors"])
        assert i["sectors"] == sorted(set(i["sectors"]))
        assert set(i["sectors"]) <= set(sector_slugs), i["slug"]
        for s in i["sectors"]:
            used[s] = used.get(s, 0) + 1
    assert set(used) == set(sector_slugs), f"unused sectors: {set(sector_slugs) - set(used)}"

    by_slug = {i["slug"]: i for i in institutes}
    assert set(PARENTS) <= set(by_slug) and set(PARENTS.values()) <= set(by_slug)
    for i in institutes:
        seen, cur = {i["slug"]}, i["parent"]
        while cur is not None:
            assert cur in by_slug, cur
            assert cur not in seen, f"parent cycle at {i['slug']}"
            seen.add(cur)
            cur = by_slug[cur]["parent"]

    country_codes = {c[0] for c in countries}
    assert len(countries) == 250 and len(country_codes) == 250
    assert all(c[2] for c in countries), "country without region"
    assert all(c[5] == "" or c[5] in {x[0] for x in build_currencies()[0]} for c in countries)
    assert {c[0]: c[5] for c in countries}["KR"] == "KRW" and {c[0]: c[5] for c in countries}["DE"] == "EUR"
    currency_codes = {c[0] for c in currencies}
    rate_keys = {(row[0], int(row[1])) for row in rates_rows}
    rate_currencies = {row[0] for row in rates_rows}
    assert rate_currencies <= currency_codes

    missing_rates = []
    for r, i in zip(inst_src, institutes):
        assert i["country"] in country_codes, i["slug"]
        assert i["kind"] in {"government", "public_research", "university", "non_profit",
                             "consortium", "company"}
        assert i["name"] and "⚠" not in json.dumps(i, ensure_ascii=False)
        assert i["website"] is None or re.match(r"^https?://\S+$", i["website"]), i["slug"]
        assert i["description"] is None or len(i["description"]) < 2000
        assert not ({i["name"], i["acronym"]} & set(i["aliases"]))
        assert set(i["external_ids"]) <= {"ror", "wikidata", "grid"}
        # budgets: the source row's figure, exactly, then any extra sourced figure
        b = i["budgets"]
        keys = [(x["year"], x["kind"]) for x in b]
        assert len(set(keys)) == len(keys), i["slug"]
        if r["budget_amount"] is None:
            assert i["slug"] in EXTRA_BUDGETS or not b
        else:
            assert (b[0]["amount"], b[0]["currency"], b[0]["year"], b[0]["source"]) == (
                r["budget_amount"], r["budget_currency"], r["budget_year"], r["budget_source"]), i["slug"]
            assert b[0]["kind"] == BUDGET_KIND_MAP[r["budget_type"]]
        for x, extra in zip(b[1:] if r["budget_amount"] is not None else b,
                            EXTRA_BUDGETS.get(i["slug"], [])):
            p = next(p for p in prog_src if (p["country"], p["program"]) == extra["program"])
            assert (x["amount"], x["currency"], x["year"], x["source"]) == (
                p["amount"], p["currency"], p["year_announced"], p["source"])
        for x in b:
            assert x["amount"] >= 0 and CURRENCY_RE.match(x["currency"])
            assert x["currency"] in currency_codes, (i["slug"], x["currency"])
            assert x["period_end"] is None or (x["kind"] == "multi_year" and x["period_end"] >= x["year"])
            assert x["source"].startswith("http")
            if (x["currency"], x["year"]) not in rate_keys:
                missing_rates.append((i["slug"], x["currency"], x["year"]))
        # headcounts: the source row's figure and its extra_headcounts, exactly
        expected = sorted(
            ((h["headcount_year"], h["headcount"], h["headcount_basis"], h["headcount_source"])
             for h in [r] + list(r.get("extra_headcounts") or [])
             if h["headcount"] is not None and h["headcount_year"] is not None),
            key=lambda e: e[0])
        assert len(i["headcounts"]) == len(expected), i["slug"]
        for x, e in zip(i["headcounts"], expected):
            assert (x["researchers"] is None) != (x["staff"] is None)
            assert (x["year"], x["researchers"] or x["staff"], x["basis"], x["source"]) == e, i["slug"]
        # ror_id: the source's identifier, exactly
        if r.get("ror_id"):
            assert "https://ror.org/" + i["external_ids"]["ror"] == r["ror_id"], i["slug"]
        else:
            assert "ror" not in i["external_ids"], i["slug"]
        assert i["unverified_fields"] == sorted({UNVERIFIED_FIELD.get(f, f) for f in r["unverified_fields"]})
        assert all(f in RECORD_FIELDS for f in i["unverified_fields"]), i["unverified_fields"]
    for p, s in zip(programs, prog_src):
        assert p["jurisdiction"] in country_codes, p["slug"]
        assert p["currency"] in currency_codes, p["slug"]
        assert (p["amount"], p["currency"], p["announced"], p["source"]) == (
            s["amount"], s["currency"], s["year_announced"], s["source"])
    for k in PERIOD_END:
        assert k in by_slug and by_slug[k]["budgets"] and by_slug[k]["budgets"][0]["kind"] == "multi_year", k
    for k in BUDGET_NOTES:
        assert k in by_slug and by_slug[k]["budgets"], k
    for k in HEADCOUNT_OVERRIDES:
        assert k in by_slug, k

    # ---------------------------------------------------------------- write
    write_json(os.path.join(OUT, "institutes.json"), institutes)
    write_json(os.path.join(OUT, "sectors.json"), sectors)
    write_json(os.path.join(OUT, "programs.json"), programs)
    shutil.copyfile(os.path.join(source, "exchange_rates.csv"), os.path.join(OUT, "exchange_rates.csv"))
    write_csv(os.path.join(OUT, "countries.csv"), ["code", "name", "region", "subregion", "kind", "currency"], countries)
    write_csv(os.path.join(OUT, "currencies.csv"), ["code", "name", "minor_units"], currencies)

    # ---------------------------------------------------------------- report
    n_budgets = sum(len(i["budgets"]) for i in institutes)
    n_heads = sum(len(i["headcounts"]) for i in institutes)
    print(f"institutes: {len(institutes)} ({n_budgets} budgets, {n_heads} headcounts)")
    print(f"programmes: {len(programs)}; sectors: {len(sectors)}; countries: {len(countries)}; "
          f"currencies: {len(currencies)} (ISO 4217 list published {iso4217_published}); "
          f"exchange rates: {len(rates_rows)}")
    print("no budget:", ", ".join(i["slug"] for i in institutes if not i["budgets"]))
    print("no headcount:", ", ".join(i["slug"] for i in institutes if not i["headcounts"]))
    print("headcounts dropped (no year in the source):")
    for slug, n, basis in report["headcounts_dropped"]:
        print(f"  {slug}: {n} ({basis})")
    print("headcount fields:")
    for slug, field, basis in report["headcount_fields"]:
        print(f"  {slug}: {field}  <- {basis}")
    print("parent links:", ", ".join(f"{c} -> {p}" for c, p in PARENTS.items()))
    print("budgets without an exchange rate for their currency and year:")
    for slug, cur, year in missing_rates:
        print(f"  {slug}: {cur} {year}")
    print("sectors beyond the first five, not kept:")
    for slug, dropped in report["sectors_truncated"]:
        print(f"  {slug}: {', '.join(dropped)}")
    print("sector counts:")
    for s in sector_slugs:
        print(f"  {s}: {used[s]}")


if __name__ == "__main__":
    main(sys.argv)
