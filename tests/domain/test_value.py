"""Customer value (domain/value.py): the BG/NBD and Gamma-Gamma models against the
published CDNOW figures and against samples simulated from the models, and hand-computed
examples for summaries, RFM, retention, dormancy and loyalty. No database."""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from domain.base import InvalidValue
from domain.relationship import Lifecycle
from domain.value import (
    BgNbdFit,
    BgNbdParams,
    CustomerSummary,
    DormancyPolicy,
    GammaGammaParams,
    Loyalty,
    Purchase,
    RetentionRate,
    RfmScore,
    RfmSegment,
    RfmValues,
    active_periods,
    bgnbd_conditional_expected_purchases,
    bgnbd_expected_purchases,
    bgnbd_log_likelihood,
    bgnbd_probability_alive,
    bgnbd_total_log_likelihood,
    days_without_business,
    fit_bgnbd,
    fit_gamma_gamma,
    fixed_period,
    gamma_gamma_expected_mean_value,
    gamma_gamma_log_likelihood,
    gamma_gamma_population_mean,
    loyalty,
    model_value,
    month_period,
    quintile_scores,
    realised_value,
    retention_rates,
    rfm_scores,
    rfm_segment,
    rfm_values,
    summarise_purchases,
)

# --------------------------------------------------------------------------------------
# The CDNOW sample of Fader, Hardie & Lee (2005): 2,357 customers who first bought in the
# first quarter of 1997, observed for a 39-week calibration period ending 1997-09-30.
# Source: Bruce Hardie's CDNOW data set, as summarised in the "lifetimes" package
# (cdnow_customers_summary_with_transactions.csv, MIT licence). Times here are in days
# (the CSV's weeks × 7, all whole days); m̄ ("zbar") is the mean value of the repeat
# purchases in dollars.
#
# Customers with no repeat purchase, as "T_days:count".
_CDNOW_NO_REPEAT = """
189:13 190:20 191:16 192:17 193:12 194:15 195:18 196:19 197:17 198:20 199:15 200:18 201:20
202:18 203:19 204:17 205:18 206:19 207:16 208:20 209:19 210:22 211:18 212:17 213:16 214:17
215:20 216:20 217:20 218:21 219:16 220:17 221:14 222:16 223:18 224:21 225:16 226:19 227:19
228:11 229:17 230:17 231:17 232:21 233:18 234:23 235:16 236:24 237:17 238:21 239:22 240:16
241:20 242:14 243:19 244:18 245:15 246:19 247:17 248:16 249:16 250:16 251:14 252:14 253:16
254:20 255:14 256:14 257:14 258:15 259:13 260:15 261:12 262:17 263:10 264:15 265:13 266:12
267:16 268:14 269:13 270:12 271:15 272:10
"""
# Customers with repeat purchases, as "x:t_x_days:T_days:m̄".
_CDNOW_REPEAT = """
2:213:272:22.35 1:12:272:11.77 7:206:272:73.74 1:35:272:11.77 2:250:272:25.55
5:171:272:29.44 10:239:272:24.24 1:34:272:9.99 3:198:271:25.08 2:102:271:32.30
1:11:271:227.14 1:206:271:80.46 1:41:271:40.47 1:190:271:31.14 1:15:271:13.97
1:171:270:14.96 12:241:270:29.54 1:11:270:14.37 2:232:270:28.03 1:30:270:15.36
1:269:269:6.49 4:206:269:53.40 1:113:269:43.13 2:148:269:133.48 3:205:269:42.63
1:41:269:69.23 1:36:269:20.77 3:118:268:20.22 1:52:268:42.09 7:185:268:27.63
10:248:268:13.66 1:233:268:14.99 6:262:268:50.87 2:223:268:33.42 4:263:268:20.68
1:167:268:26.22 5:253:267:17.47 1:169:267:92.80 1:43:267:52.30 1:2:267:39.09 1:2:267:12.97
1:169:267:24.99 1:37:267:28.31 1:21:267:13.77 1:50:267:36.71 4:53:266:13.62 3:182:266:19.36
1:168:266:71.66 2:199:266:13.87 1:164:266:19.54 2:52:266:23.48 2:118:266:51.80
1:15:266:29.33 1:110:266:23.54 5:48:266:35.58 2:200:266:15.16 7:239:266:22.92
2:250:266:18.98 4:205:266:29.86 13:265:266:29.34 4:231:266:28.53 4:247:266:24.94
1:20:266:16.70 1:45:266:34.32 29:264:266:26.26 3:173:265:46.59 1:14:265:46.28
10:259:265:62.44 13:197:265:25.46 1:262:265:14.49 6:230:264:35.18 8:253:264:49.25
1:35:264:15.76 4:253:264:33.91 2:55:264:11.87 3:148:264:37.99 3:42:264:28.46 6:189:264:28.77
1:11:264:27.13 2:100:263:41.48 2:49:263:18.88 2:217:263:21.87 1:126:263:14.96 1:2:263:34.27
7:125:263:71.81 2:203:263:14.47 4:170:263:37.26 1:104:262:14.99 1:192:262:21.74
2:80:262:20.35 1:14:262:13.97 1:13:262:9.77 2:231:262:28.65 3:256:262:22.29 4:220:262:24.09
1:58:261:55.28 5:36:261:194.86 2:168:261:36.11 1:13:261:30.32 2:143:261:26.94
1:224:261:16.36 1:3:261:11.77 5:113:261:32.12 1:41:261:38.77 2:200:261:52.94 1:258:261:64.45
1:1:261:11.77 2:249:261:21.36 1:40:261:90.83 1:14:260:79.72 1:27:260:41.82 3:170:260:20.50
1:238:260:25.74 13:215:260:17.56 3:136:260:87.43 3:230:260:19.62 1:21:260:36.67
3:221:260:33.97 5:255:260:36.98 2:248:260:65.07 1:3:260:20.75 1:5:260:18.99 1:107:259:76.41
1:8:259:12.97 3:241:259:20.08 1:254:259:31.48 1:125:259:69.84 1:24:259:14.37 4:30:259:48.81
2:242:259:25.61 3:194:259:93.40 1:139:259:29.75 1:116:259:48.94 2:224:259:60.75
1:62:258:41.77 3:19:258:15.89 25:191:258:37.21 5:158:258:59.42 2:99:258:10.88
5:252:258:45.07 1:157:258:9.77 2:158:257:15.70 1:158:257:4.79 2:158:257:79.02 1:67:257:12.77
1:18:257:242.98 2:166:257:36.22 2:74:257:9.77 4:201:257:41.81 1:82:256:176.45
3:122:256:26.42 1:99:256:24.74 1:40:256:13.77 1:73:256:13.97 1:154:256:16.70
11:255:256:37.11 4:218:256:22.86 1:107:255:100.59 2:71:255:22.08 1:181:255:189.64
1:31:255:23.54 3:149:255:14.37 1:56:255:29.99 2:153:255:18.14 8:218:255:44.80 1:43:255:15.38
2:111:255:34.22 1:223:255:14.96 1:152:255:28.34 2:24:255:15.36 3:146:254:17.89
2:87:254:52.47 2:138:254:13.37 1:31:254:29.33 2:210:254:25.05 1:59:254:25.74 1:127:254:34.14
2:183:254:97.58 4:187:254:13.93 2:22:253:29.98 6:190:253:23.18 1:15:253:44.97 1:55:253:27.33
1:62:253:83.39 1:119:253:11.77 2:77:253:31.26 1:190:253:14.37 7:198:253:66.89
4:106:253:19.02 7:178:253:21.39 1:60:253:58.07 1:119:253:38.71 2:161:253:32.54
1:221:253:51.50 4:213:253:21.65 1:17:253:14.79 2:236:253:20.13 4:252:253:29.69
2:149:252:56.95 1:151:252:89.48 1:60:252:11.97 11:232:252:50.03 4:63:252:31.04
4:122:252:32.82 3:213:252:31.99 1:252:252:11.49 1:15:252:15.36 6:186:252:43.93
3:39:252:36.19 2:100:251:39.60 2:217:251:27.85 18:246:251:78.63 1:37:251:14.96
1:55:251:37.65 5:207:251:27.39 1:251:251:41.47 6:244:251:18.67 2:78:251:17.62
2:159:251:96.09 1:209:251:27.77 1:146:250:38.92 1:90:250:12.49 1:32:250:44.88
2:206:250:77.42 1:1:250:6.79 2:222:250:33.72 2:157:250:135.96 1:154:250:71.45
10:235:250:38.76 1:47:250:30.97 3:24:250:41.46 3:166:250:58.67 2:227:250:31.97
12:167:249:26.74 1:53:249:30.32 2:203:249:46.35 2:241:249:24.99 5:234:249:20.81
2:174:249:14.31 5:61:249:50.67 1:187:249:27.31 1:38:249:13.97 1:51:249:59.25 1:248:248:45.98
2:151:248:44.00 1:203:248:15.36 7:120:248:42.49 2:229:248:41.12 2:181:248:8.38
4:150:248:31.97 3:210:248:14.70 1:219:248:14.37 2:95:248:21.37 2:154:248:37.08
1:72:247:163.61 1:146:247:11.77 2:235:247:11.63 2:27:247:21.75 1:55:247:19.99
1:167:247:13.97 3:78:247:32.02 1:240:247:18.98 1:19:247:75.20 3:187:246:40.04
4:199:246:15.26 2:81:246:11.98 1:60:246:15.36 1:45:246:29.33 5:218:246:29.39 1:41:246:11.77
1:50:246:26.73 2:58:246:24.08 1:236:246:12.99 1:146:245:52.47 8:235:245:29.48 1:31:245:54.71
6:205:245:36.53 1:57:245:34.11 2:27:245:20.15 3:177:245:70.45 6:161:245:79.33
1:143:245:14.96 2:114:245:28.64 5:176:245:17.25 1:196:245:10.77 1:132:245:29.92
1:42:245:21.54 13:241:245:42.44 1:25:245:24.99 3:181:244:20.08 5:101:244:17.22
2:122:244:20.55 1:160:244:128.89 1:78:244:11.78 1:28:244:37.75 1:4:244:29.58 4:214:244:22.54
6:235:244:16.31 1:12:244:14.37 2:68:244:50.27 2:84:244:14.47 7:244:244:14.60 3:142:244:48.17
5:119:244:62.48 2:74:243:11.77 1:32:243:18.76 3:236:243:37.47 1:93:243:12.49 1:174:243:14.96
2:101:243:16.83 1:88:243:70.13 1:50:243:6.79 10:205:243:62.26 3:115:243:13.30
3:120:243:20.68 2:64:242:66.94 5:242:242:89.61 4:162:242:18.04 1:26:242:27.94
1:112:242:15.36 1:2:242:24.98 3:65:242:12.19 1:61:242:28.34 6:230:241:47.02 2:179:241:37.12
1:15:241:50.30 6:216:241:13.48 1:41:241:32.37 2:57:241:127.32 7:236:241:124.61
2:145:241:32.42 2:89:241:46.79 1:51:240:19.99 13:237:240:28.62 7:39:240:27.36
3:224:240:39.73 1:155:240:11.77 1:33:240:66.63 1:138:240:14.96 2:6:240:42.20 1:58:240:13.97
1:148:240:44.28 1:167:240:21.75 2:217:240:12.25 1:4:240:12.97 1:187:240:15.96
19:238:239:29.49 2:147:239:103.88 2:196:239:38.45 2:147:239:109.63 2:98:239:68.85
1:46:239:58.14 1:3:239:16.76 1:74:239:13.97 1:10:239:29.98 2:128:239:12.97 1:104:239:43.09
7:220:239:23.64 1:1:239:9.77 1:194:239:46.50 1:116:238:26.75 2:61:238:15.46 1:69:238:10.77
1:107:238:29.92 4:197:238:60.85 1:96:238:51.60 1:167:238:45.40 5:103:238:9.70 1:72:238:14.96
1:174:238:54.73 1:68:238:53.50 1:16:238:35.51 7:182:238:26.42 2:141:238:28.04
1:89:238:152.72 1:110:237:36.50 2:229:237:55.51 1:60:237:14.37 4:183:237:25.11
1:32:237:25.94 1:161:237:28.74 1:18:237:17.90 1:26:237:15.99 2:231:236:11.97 1:21:236:29.93
2:236:236:43.98 4:107:236:29.10 1:43:236:14.96 7:228:236:20.16 1:8:236:30.72 1:16:236:125.69
4:168:236:99.71 1:47:236:12.79 1:7:236:13.97 7:211:236:23.01 1:77:236:42.02 6:209:236:42.50
5:128:236:33.62 2:100:236:12.47 1:122:236:38.51 6:213:236:47.07 2:80:236:36.86
2:112:235:38.40 2:190:235:27.57 6:175:235:35.04 1:140:235:43.90 1:170:235:40.51
2:75:235:42.48 1:12:235:10.78 4:171:235:16.26 1:187:235:68.31 1:27:235:15.76 1:10:234:20.99
5:148:234:122.93 2:132:234:52.85 3:182:234:40.32 12:227:234:12.86 1:64:234:49.48
2:150:234:29.60 4:100:234:33.36 1:162:233:57.50 1:61:233:28.99 3:126:233:15.17
1:233:233:19.49 1:4:233:13.97 4:175:233:16.62 2:134:233:16.98 5:226:233:36.58
3:172:233:67.12 1:1:233:11.99 3:92:233:27.54 2:28:232:13.37 2:34:232:16.24 3:135:232:20.42
11:224:232:106.53 2:16:232:47.84 1:133:232:9.98 7:201:232:66.70 1:133:232:5.99
3:84:232:26.73 2:196:232:31.62 1:14:232:14.37 4:175:232:17.67 2:107:231:17.70 2:42:231:19.64
1:128:231:14.99 1:60:231:22.40 3:212:231:17.70 1:129:231:14.96 1:6:231:27.94 6:129:231:24.64
4:203:231:47.99 1:9:231:51.87 2:69:231:56.73 1:17:231:11.77 3:68:231:57.56 7:213:231:46.69
2:105:231:45.82 5:225:231:46.25 5:227:230:26.18 12:124:230:51.97 1:129:230:35.71
1:132:230:30.15 1:5:230:13.97 3:60:230:13.59 1:85:230:103.18 1:4:230:14.96 4:220:229:39.68
2:108:229:31.04 4:9:229:37.16 1:5:229:9.97 1:19:229:59.97 3:42:229:14.63 1:62:229:32.26
3:199:229:33.55 3:144:228:30.77 4:145:228:19.63 1:211:228:38.97 2:228:228:42.47
1:25:228:15.36 2:222:228:27.46 1:6:228:21.74 2:8:228:36.83 1:11:228:11.77 1:4:228:24.74
7:105:228:26.09 6:187:228:41.17 6:207:228:35.67 1:2:228:46.29 1:43:227:13.97 1:26:227:56.28
3:197:227:32.12 3:181:226:23.49 3:193:226:11.31 8:161:226:37.65 1:6:226:11.77 2:92:226:41.31
11:216:226:15.03 1:9:226:39.74 8:226:226:24.59 1:25:226:12.77 1:55:226:29.33 3:164:226:47.16
3:100:226:78.06 1:20:226:51.73 1:139:226:13.77 6:175:226:73.96 2:150:226:12.97
1:130:225:30.60 1:1:225:6.79 1:20:225:8.78 1:5:225:14.96 3:83:225:29.35 2:131:225:36.02
2:17:225:53.92 1:51:225:18.99 1:111:225:29.73 3:10:225:16.63 2:58:225:13.97 3:134:225:14.31
1:44:225:25.37 4:173:225:68.63 6:215:225:19.82 1:41:225:17.54 1:211:225:28.48
4:194:225:28.49 2:190:225:20.95 4:221:225:31.28 2:151:224:34.24 1:208:224:36.97
1:126:224:16.36 2:56:224:173.04 1:71:224:14.79 2:83:224:26.75 1:64:224:26.73 3:44:224:19.50
1:133:224:11.97 1:205:224:23.49 3:166:224:45.91 2:190:224:33.14 1:32:224:15.30
4:204:223:20.81 1:11:223:44.11 3:23:223:20.62 3:215:223:18.66 1:166:223:71.62 1:7:223:14.37
1:214:223:41.47 2:78:223:25.68 2:170:223:29.74 3:180:223:34.78 1:214:223:12.99
1:135:223:11.77 9:214:222:61.41 4:59:222:53.30 2:164:222:18.96 5:182:222:23.78
1:37:222:27.94 1:161:222:5.78 2:82:222:34.21 4:212:222:36.39 1:35:222:42.10 1:7:221:21.74
5:160:221:22.80 1:53:221:93.84 1:78:221:25.54 1:56:221:15.36 1:46:221:23.94 1:6:221:29.37
3:197:221:12.24 2:98:221:12.47 14:212:221:19.01 4:118:221:92.42 2:211:220:11.47
2:173:220:10.39 3:131:220:27.09 2:44:220:19.99 1:10:220:14.96 1:192:220:12.25
6:137:220:28.41 1:183:220:13.97 6:127:220:37.41 1:19:220:14.96 2:52:220:13.07
2:158:220:36.81 1:158:220:78.52 2:150:220:32.02 1:218:220:15.49 1:67:219:29.99
2:147:219:27.24 3:122:219:28.94 4:92:219:43.97 4:141:219:32.45 1:42:219:28.74
5:204:219:87.24 2:188:219:79.81 1:120:218:19.77 5:188:218:24.93 1:16:218:17.30
2:184:218:54.04 2:86:218:93.80 2:134:218:16.13 1:117:218:11.77 1:183:218:52.87
2:35:218:28.84 3:155:218:33.40 4:154:218:22.15 1:14:218:13.97 3:181:218:97.10 1:22:218:49.27
2:176:218:100.35 2:28:218:16.86 1:73:217:31.13 4:133:217:82.83 26:216:217:39.97
1:214:217:11.49 6:183:217:40.85 1:58:217:14.90 2:214:217:17.63 2:11:217:68.17
1:122:217:26.94 2:138:217:22.96 1:205:217:10.48 14:209:216:18.13 1:19:216:14.79
2:36:216:17.57 4:178:216:29.48 1:19:216:11.77 6:205:216:67.14 1:1:216:15.36 3:182:216:15.58
1:15:216:13.97 1:114:216:50.48 1:16:216:11.97 8:201:216:117.46 3:181:216:17.89
1:38:216:27.34 3:212:216:22.39 1:8:216:14.37 1:75:215:7.98 1:21:215:20.99 1:154:215:29.92
1:27:215:16.36 9:84:215:24.46 3:185:215:28.20 1:53:215:26.74 1:14:215:9.97 2:28:215:22.64
4:142:215:59.30 1:175:215:186.26 2:150:215:87.46 1:173:215:14.96 1:212:215:12.99
1:103:214:12.77 3:123:214:21.64 2:42:214:14.67 2:194:214:21.13 5:199:214:39.96
1:116:214:15.96 1:12:214:10.77 1:181:214:19.55 1:23:214:48.36 5:181:214:28.81
1:197:214:60.44 1:40:214:12.49 4:187:214:39.38 4:152:213:27.34 3:89:213:41.36
1:121:213:33.86 1:23:213:38.31 2:62:213:20.35 2:171:213:12.57 4:146:213:23.70
2:137:213:38.73 1:118:213:14.96 1:42:213:24.73 1:30:212:18.36 3:118:212:21.01
3:212:212:23.29 2:180:212:45.19 1:148:212:56.77 1:172:212:28.74 5:198:212:63.19
1:58:212:22.54 3:128:212:13.23 2:136:212:11.77 1:13:212:25.99 1:71:212:28.08 1:154:212:13.97
2:27:212:39.81 2:124:211:245.21 3:146:211:24.75 5:210:211:20.87 2:14:211:18.34 1:9:211:5.78
1:113:211:14.96 9:200:211:32.13 2:62:211:41.14 1:44:211:52.50 1:15:211:116.47
1:153:211:41.11 1:153:211:43.89 2:38:210:15.48 3:208:210:43.47 1:146:210:15.36
2:176:210:22.35 4:176:210:26.47 4:199:210:33.56 3:171:210:32.79 3:112:210:10.83
2:110:210:43.69 4:53:210:34.94 5:186:209:31.61 3:44:209:90.41 2:107:209:34.13
2:201:209:15.23 3:173:209:38.57 2:118:209:19.99 4:186:209:32.66 7:196:209:12.89
1:151:209:14.96 2:145:209:14.77 2:57:209:13.73 2:107:209:23.00 3:17:209:47.03
1:172:209:16.36 1:98:209:56.06 3:89:209:8.51 1:20:209:26.73 6:185:209:27.93 1:123:209:29.98
2:174:209:41.72 3:40:209:26.32 3:68:208:64.21 1:141:208:105.26 5:207:208:42.51
1:148:208:87.40 9:164:208:62.40 4:197:208:26.91 2:193:208:47.95 1:35:208:48.31
4:56:208:45.73 1:146:207:27.94 1:7:207:63.04 1:146:207:11.77 1:138:207:28.77 1:5:207:6.77
1:12:207:32.99 1:100:207:36.70 5:206:207:40.12 1:175:207:14.96 1:189:207:12.99
1:68:207:14.99 1:14:207:18.99 1:11:207:43.89 1:184:206:12.25 7:200:206:36.26 1:200:206:2.99
1:168:206:11.77 1:17:206:44.69 1:67:206:9.70 1:169:206:14.37 2:75:206:11.77 1:80:206:9.99
1:114:205:13.97 15:167:205:19.83 1:114:205:59.65 2:144:205:14.47 3:158:205:24.76
1:85:205:22.54 21:33:205:299.63 2:143:205:75.05 3:139:205:17.89 3:113:205:19.48
2:144:205:37.82 1:15:205:12.79 1:3:205:42.49 1:120:204:123.53 1:23:204:32.00 1:176:204:17.30
2:128:204:213.01 2:26:204:20.69 1:36:204:34.93 4:200:204:13.17 2:195:204:12.13
1:159:204:14.96 1:134:204:15.76 1:78:204:20.54 2:194:204:34.91 2:141:204:32.53
2:28:203:36.11 1:106:203:26.14 6:149:203:38.25 11:163:203:30.04 1:27:203:14.96
1:11:203:13.97 1:196:203:11.49 1:128:203:38.97 2:76:203:49.97 2:178:203:25.66 3:10:203:37.45
1:62:202:22.77 1:12:202:60.25 17:199:202:48.23 2:166:202:15.16 2:83:202:35.86 2:21:202:26.54
2:149:202:20.65 1:117:202:13.97 3:111:201:62.95 1:159:201:21.70 1:106:201:19.99
2:59:201:20.10 1:109:201:11.77 1:91:201:27.94 7:170:201:16.60 1:61:201:10.77 3:106:200:29.20
2:177:200:34.90 4:152:200:26.56 1:16:200:13.77 2:67:200:13.07 1:15:200:66.43 4:176:200:37.66
2:40:200:30.94 1:104:200:14.79 3:105:200:43.70 1:77:200:12.25 1:92:200:50.48 1:59:200:14.96
1:178:200:122.37 2:194:199:39.34 3:194:199:19.47 1:97:199:8.97 1:29:199:35.91
1:148:199:28.74 3:51:199:11.60 3:194:199:27.09 1:10:199:4.79 2:59:199:44.99 1:6:199:14.96
1:198:198:12.99 1:9:198:16.36 2:38:198:21.66 2:155:198:25.85 3:182:198:45.64 4:78:198:77.06
1:77:198:31.76 1:53:198:54.51 1:132:198:48.91 3:148:198:18.82 1:93:198:15.76 1:11:198:42.29
1:133:198:14.37 1:30:198:176.86 3:194:197:33.47 6:87:197:37.81 3:171:197:53.57
2:175:197:19.64 5:67:197:40.54 1:25:197:47.28 1:20:197:16.70 1:50:197:24.99 2:119:197:41.83
1:38:197:11.77 2:172:197:13.57 7:188:196:37.83 2:100:196:48.68 2:153:196:22.55
2:20:196:15.37 2:59:196:38.13 8:193:196:51.97 5:129:196:18.63 1:59:196:14.37 1:10:196:15.36
1:25:196:19.54 1:79:196:29.60 3:56:196:12.57 2:144:195:54.59 2:88:195:62.23 1:137:195:26.33
1:1:195:14.79 2:180:195:59.66 2:166:195:12.02 1:52:195:9.98 1:165:195:37.95 2:171:195:87.90
1:12:195:100.37 2:53:194:20.96 3:180:194:18.43 1:151:194:5.96 1:98:194:11.77 9:177:194:15.81
3:141:194:125.60 3:139:193:28.39 2:185:193:41.44 1:191:193:38.97 1:150:193:71.50
1:54:193:39.98 2:45:193:45.61 6:193:193:31.10 1:68:192:18.76 1:59:192:13.77 1:26:192:61.24
1:63:192:95.95 4:161:192:79.86 2:189:192:77.29 1:114:192:14.96 1:34:191:26.99
1:155:191:45.29 2:145:191:29.65 1:5:191:14.37 6:93:191:41.79 1:111:191:29.33 2:108:191:22.15
6:148:191:34.67 1:85:190:25.34 2:133:190:38.37 7:164:190:38.57 1:171:190:27.98
2:58:190:40.41 1:43:190:14.96 1:11:190:28.93 1:3:190:15.96 1:181:190:12.49 5:126:190:20.68
1:55:190:50.87 2:93:190:23.66 1:18:190:22.99 1:150:189:34.97 1:96:189:15.36 5:91:189:146.96
1:143:189:68.63 1:18:189:32.91 2:48:189:21.85 1:82:189:21.00 2:123:189:43.80 1:44:189:52.69
2:84:189:15.24 1:53:189:11.77 2:69:189:32.64 7:169:189:16.36 1:65:189:13.97 2:153:189:18.56
5:170:189:44.93 4:186:189:33.32
"""


def _cdnow() -> list[CustomerSummary]:
    customers: list[CustomerSummary] = []
    for item in _CDNOW_NO_REPEAT.split():
        age, count = item.split(":")
        customers += [CustomerSummary(0, 0.0, int(age) / 7)] * int(count)
    for item in _CDNOW_REPEAT.split():
        x, recency, age, mean = item.split(":")
        customers.append(CustomerSummary(int(x), int(recency) / 7, int(age) / 7, float(mean)))
    return customers


CDNOW = _cdnow()

#: Fader, Hardie & Lee (2005, Marketing Science), table of estimates; weeks.
PUBLISHED_BGNBD = BgNbdParams(r=0.243, alpha=4.414, a=0.793, b=2.426)
#: Fader, Hardie & Lee (2005, JMR) / Fader & Hardie note 025.
PUBLISHED_GAMMA_GAMMA = GammaGammaParams(p=6.25, q=3.74, gamma=15.44)


@pytest.fixture(scope="module")
def cdnow_bgnbd() -> BgNbdFit:
    return fit_bgnbd(CDNOW)


def test_cdnow_sample_is_the_papers() -> None:
    assert len(CDNOW) == 2357
    assert sum(c.frequency > 0 for c in CDNOW) == 946
    assert sum(c.frequency for c in CDNOW) == 2457  # repeat purchases in the 39 weeks
    assert max(c.age for c in CDNOW) == pytest.approx(38.86, abs=0.005)


# --------------------------------------------------------------------------------------
# BG/NBD against the published figures
# --------------------------------------------------------------------------------------


def test_bgnbd_log_likelihood_at_the_published_estimates() -> None:
    # The paper reports LL = -9582.4 at its estimates.
    assert bgnbd_total_log_likelihood(PUBLISHED_BGNBD, CDNOW) == pytest.approx(-9582.4, abs=0.05)


def test_bgnbd_fit_reproduces_the_published_estimates(cdnow_bgnbd: BgNbdFit) -> None:
    fit = cdnow_bgnbd
    assert fit.converged
    assert fit.customers == 2357
    params = fit.params
    # Each estimate rounds to the published three decimals.
    assert params.r == pytest.approx(0.243, abs=0.0005)
    assert params.alpha == pytest.approx(4.414, abs=0.0005)
    assert params.a == pytest.approx(0.793, abs=0.0005)
    assert params.b == pytest.approx(2.426, abs=0.0005)
    assert fit.log_likelihood == pytest.approx(-9582.4, abs=0.05)
    # The maximum is at least as high as the published (rounded) point.
    assert fit.log_likelihood >= bgnbd_total_log_likelihood(PUBLISHED_BGNBD, CDNOW)
    # Standard errors from the observed information (the paper reports none). Reference:
    # an independent numpy log-likelihood differentiated in the natural parameters gave
    # r 0.01256, α 0.3782, a 0.1857, b 0.7054.
    se = fit.standard_errors
    assert se is not None
    assert (se.r, se.alpha, se.a, se.b) == pytest.approx(
        (0.01256, 0.3782, 0.1857, 0.7054), rel=0.005
    )


def test_bgnbd_worked_example() -> None:
    # CDNOW customer 1: two repeat purchases, the last at week 30.43, observed for 38.86
    # weeks. The paper's spreadsheet implementation (and the "lifetimes" test suite that
    # copies it) gives E[Y(39)] = 1.226 at the published estimates.
    expected = bgnbd_conditional_expected_purchases(PUBLISHED_BGNBD, 39, 2, 30.43, 38.86)
    assert expected == pytest.approx(1.226, abs=0.0005)
    # Reference values computed independently from the untransformed eq. 10 with
    # scipy.special.hyp2f1: 1.226028174767135; P(alive) = 1/(1 + a/(b+1) (43.274/34.844)^2.243).
    assert expected == pytest.approx(1.226028174767135, rel=1e-12)
    alive = 1 / (1 + 0.793 / 3.426 * ((4.414 + 38.86) / (4.414 + 30.43)) ** 2.243)
    assert bgnbd_probability_alive(PUBLISHED_BGNBD, 2, 30.43, 38.86) == pytest.approx(alive)
    assert alive == pytest.approx(0.72658, abs=1e-5)


def test_bgnbd_unconditional_expectation() -> None:
    # E[X(t)] of eq. 9 at the published estimates; references from scipy.special.hyp2f1.
    assert bgnbd_expected_purchases(PUBLISHED_BGNBD, 39) == pytest.approx(
        1.1967231933208, rel=1e-12
    )
    assert bgnbd_expected_purchases(PUBLISHED_BGNBD, 78) == pytest.approx(
        1.8605190579427, rel=1e-12
    )
    # Summed over the cohort's own ages it is the model's calibration-period repeat
    # purchases, against the 2,457 observed (2,497.6: the paper's fig. 2 tracks them closely).
    total = sum(bgnbd_expected_purchases(PUBLISHED_BGNBD, c.age) for c in CDNOW)
    assert total == pytest.approx(2457, rel=0.02)


def test_bgnbd_unconditional_expectation_against_monte_carlo() -> None:
    # E[X(t) | λ, p] = (1 - e^(-λpt)) / p (eq. 8); averaged over λ ~ Gamma(r, α) and
    # p ~ Beta(a, b) by simulation, it must agree with the closed form within 4 standard
    # errors: a check of eq. 9 and of the hypergeometric series that owes nothing to them.
    rng = random.Random(20050401)
    params, t = PUBLISHED_BGNBD, 52.0
    draws = []
    for _ in range(100_000):
        rate = rng.gammavariate(params.r, 1 / params.alpha)
        p = rng.betavariate(params.a, params.b)
        draws.append(-math.expm1(-rate * p * t) / p)
    mean = sum(draws) / len(draws)
    se = math.sqrt(sum((d - mean) ** 2 for d in draws) / (len(draws) - 1) / len(draws))
    assert abs(bgnbd_expected_purchases(params, t) - mean) < 4 * se


def test_bgnbd_properties() -> None:
    p = PUBLISHED_BGNBD
    # No repeat purchase: BG/NBD customers drop out only after a repeat purchase.
    assert bgnbd_probability_alive(p, 0, 0, 30) == 1.0
    # Nothing is expected in no time.
    assert bgnbd_conditional_expected_purchases(p, 0, 3, 20, 30) == 0.0
    # The unconditional expectation is the conditional one of a customer just acquired.
    assert bgnbd_conditional_expected_purchases(p, 26, 0, 0, 0) == bgnbd_expected_purchases(p, 26)
    # For a short horizon, E[Y(t)] ≈ P(alive) · (r+x)/(α+T) · t: the posterior mean rate.
    t = 1e-6
    slope = bgnbd_probability_alive(p, 3, 20, 30) * (p.r + 3) / (p.alpha + 30)
    assert bgnbd_conditional_expected_purchases(p, t, 3, 20, 30) / t == pytest.approx(
        slope, rel=1e-5
    )
    # More time, more purchases; a more recent last purchase, more purchases and more life.
    horizons = [1, 5, 10, 52, 104, 520]
    values = [bgnbd_conditional_expected_purchases(p, h, 3, 20, 30) for h in horizons]
    assert values == sorted(values)
    assert bgnbd_probability_alive(p, 3, 29, 30) > bgnbd_probability_alive(p, 3, 10, 30)
    assert bgnbd_conditional_expected_purchases(
        p, 52, 3, 29, 30
    ) > bgnbd_conditional_expected_purchases(p, 52, 3, 10, 30)
    # Large histories and long horizons (the "#NUM!" problem of Hardie's note 027): reference
    # values from eq. 10 evaluated at 40 digits with mpmath.hyp2f1.
    big = bgnbd_conditional_expected_purchases(p, 520, 400, 38, 39)
    assert big == pytest.approx(58.48781373106655, rel=1e-10)
    assert bgnbd_expected_purchases(p, 1000) == pytest.approx(6.580391613738232, rel=1e-10)
    with pytest.raises(InvalidValue):  # z = t/(α+T+t) too close to 1 to sum the series
        bgnbd_expected_purchases(BgNbdParams(0.243, 0.01, 0.793, 2.426), 1e5)


def test_bgnbd_at_a_equal_one_is_the_limit() -> None:
    # C/(a-1) · [1 - (1-z)^(a-1) ...] is 0/0 at a = 1; the implementation takes the limit.
    at_one = bgnbd_conditional_expected_purchases(BgNbdParams(0.5, 3.0, 1.0, 2.0), 20, 3, 10, 15)
    below = bgnbd_conditional_expected_purchases(
        BgNbdParams(0.5, 3.0, 1 - 1e-7, 2.0), 20, 3, 10, 15
    )
    above = bgnbd_conditional_expected_purchases(
        BgNbdParams(0.5, 3.0, 1 + 1e-7, 2.0), 20, 3, 10, 15
    )
    assert below < at_one < above or above < at_one < below
    assert at_one == pytest.approx((below + above) / 2, rel=1e-9)


def test_bgnbd_single_likelihood_matches_its_formula() -> None:
    # Direct evaluation of eq. 6 for x = 2, t_x = 30.43, T = 38.86.
    r, alpha, a, b = 0.243, 4.414, 0.793, 2.426
    x, tx, big_t = 2, 30.43, 38.86

    def beta(u: float, v: float) -> float:
        return math.gamma(u) * math.gamma(v) / math.gamma(u + v)

    common = math.gamma(r + x) * alpha**r / math.gamma(r)
    likelihood = beta(a, b + x) / beta(a, b) * common / (alpha + big_t) ** (r + x) + beta(
        a + 1, b + x - 1
    ) / beta(a, b) * common / (alpha + tx) ** (r + x)
    assert bgnbd_log_likelihood(PUBLISHED_BGNBD, x, tx, big_t) == pytest.approx(
        math.log(likelihood), rel=1e-12
    )
    # With x = 0 only the first term remains.
    only = beta(a, b) / beta(a, b) * alpha**r / (alpha + big_t) ** r
    assert bgnbd_log_likelihood(PUBLISHED_BGNBD, 0, 0, big_t) == pytest.approx(math.log(only))


# --------------------------------------------------------------------------------------
# BG/NBD against a sample simulated from it
# --------------------------------------------------------------------------------------


def simulate_bgnbd(
    params: BgNbdParams, ages_days: Sequence[int], rng: random.Random
) -> list[CustomerSummary]:
    """Customers drawn from the BG/NBD story, observed for the given days; times in weeks,
    rounded to whole days as real data is."""
    customers = []
    for age_days in ages_days:
        age = age_days / 7
        rate = rng.gammavariate(params.r, 1 / params.alpha)
        dropout = rng.betavariate(params.a, params.b)
        clock, x, last = 0.0, 0, 0.0
        while rate > 0:
            clock += rng.expovariate(rate)
            if clock > age:
                break
            x, last = x + 1, clock
            if rng.random() < dropout:
                break
        last_day = min(round(last * 7), age_days)
        customers.append(CustomerSummary(x, last_day / 7 if x else 0.0, age))
    return customers


@pytest.fixture(scope="module")
def simulated() -> list[CustomerSummary]:
    rng = random.Random(2005)
    ages = [rng.randint(189, 272) for _ in range(6000)]  # CDNOW's spread of ages
    return simulate_bgnbd(PUBLISHED_BGNBD, ages, rng)


def test_bgnbd_likelihood_peaks_near_the_true_parameters(simulated: list[CustomerSummary]) -> None:
    true = bgnbd_total_log_likelihood(PUBLISHED_BGNBD, simulated)
    fields = ("r", "alpha", "a", "b")
    for i in range(4):
        for factor in (0.8, 1.25):
            moved = [PUBLISHED_BGNBD.r, PUBLISHED_BGNBD.alpha, PUBLISHED_BGNBD.a, PUBLISHED_BGNBD.b]
            moved[i] *= factor
            assert bgnbd_total_log_likelihood(BgNbdParams(*moved), simulated) < true, (
                fields[i],
                factor,
            )


def test_bgnbd_fit_recovers_simulated_parameters(simulated: list[CustomerSummary]) -> None:
    fit = fit_bgnbd(simulated)
    assert fit.converged
    assert fit.log_likelihood >= bgnbd_total_log_likelihood(PUBLISHED_BGNBD, simulated)
    # Within 4 standard errors: the estimates of (a, b) are skewed at this sample size (in
    # trials with other seeds they strayed up to 3 standard errors). Here r = 0.250 ± 0.008,
    # α = 4.87 ± 0.26, a = 0.82 ± 0.12, b = 2.49 ± 0.46.
    se = fit.standard_errors
    assert se is not None
    for name in ("r", "alpha", "a", "b"):
        estimate, truth = getattr(fit.params, name), getattr(PUBLISHED_BGNBD, name)
        assert abs(estimate - truth) < 4 * getattr(se, name), (name, estimate, truth)


def test_bgnbd_fit_from_another_start_finds_the_same_maximum(cdnow_bgnbd: BgNbdFit) -> None:
    other = fit_bgnbd(CDNOW, initial=BgNbdParams(1.0, 3.0, 1.0, 3.0))
    assert other.log_likelihood == pytest.approx(cdnow_bgnbd.log_likelihood, abs=1e-6)
    assert other.params.r == pytest.approx(cdnow_bgnbd.params.r, rel=1e-4)
    assert other.params.b == pytest.approx(cdnow_bgnbd.params.b, rel=1e-4)


# --------------------------------------------------------------------------------------
# Gamma-Gamma
# --------------------------------------------------------------------------------------


def test_gamma_gamma_fit_reproduces_the_published_estimates() -> None:
    fit = fit_gamma_gamma(CDNOW)
    assert fit.converged
    assert fit.customers == 946
    assert fit.params.p == pytest.approx(6.25, abs=0.005)
    assert fit.params.q == pytest.approx(3.74, abs=0.005)
    # γ is loosely pinned (standard error ≈ 4): 15.448 here, 15.45 in "lifetimes".
    assert fit.params.gamma == pytest.approx(15.44, abs=0.01)
    published = sum(
        gamma_gamma_log_likelihood(PUBLISHED_GAMMA_GAMMA, c.frequency, c.mean_value)
        for c in CDNOW
        if c.frequency
    )
    assert published <= fit.log_likelihood < published + 0.01
    assert fit.log_likelihood == pytest.approx(-4055.92, abs=0.01)


def test_gamma_gamma_means() -> None:
    # Population mean spend pγ/(q-1) at the published estimates: 6.25 · 15.44 / 2.74.
    assert gamma_gamma_population_mean(PUBLISHED_GAMMA_GAMMA) == pytest.approx(35.2190, abs=1e-4)
    # The observed mean of m̄ over the 946 repeat buyers, which the model's mean estimates.
    observed = [c.mean_value for c in CDNOW if c.frequency]
    assert sum(observed) / len(observed) == pytest.approx(35.0786, abs=1e-4)
    # E[M | x, m̄] = (pγ + p x m̄)/(px + q - 1): CDNOW customer 1 (x = 2, m̄ = 22.35).
    p, q, g = 6.25, 3.74, 15.44
    expected = (p * g + p * 2 * 22.35) / (p * 2 + q - 1)
    assert gamma_gamma_expected_mean_value(PUBLISHED_GAMMA_GAMMA, 2, 22.35) == pytest.approx(
        expected
    )
    assert expected == pytest.approx(375.875 / 15.24)  # 24.6637
    # Shrinks towards the population mean, and to it without repeat purchases.
    assert 22.35 < expected < 35.219
    assert gamma_gamma_expected_mean_value(PUBLISHED_GAMMA_GAMMA, 0, 0.0) == pytest.approx(
        35.219, abs=1e-3
    )
    many = gamma_gamma_expected_mean_value(PUBLISHED_GAMMA_GAMMA, 1000, 22.35)
    assert many == pytest.approx(22.35, rel=0.002)


def test_gamma_gamma_likelihood_matches_its_formula() -> None:
    p, q, g, x, m = 6.25, 3.74, 15.44, 3, 40.0
    density = (
        math.gamma(p * x + q)
        / (math.gamma(p * x) * math.gamma(q))
        * g**q
        * m ** (p * x - 1)
        * x ** (p * x)
        / (g + m * x) ** (p * x + q)
    )
    assert gamma_gamma_log_likelihood(PUBLISHED_GAMMA_GAMMA, x, m) == pytest.approx(
        math.log(density)
    )


def test_gamma_gamma_fit_recovers_simulated_parameters() -> None:
    rng = random.Random(2013)
    truth = PUBLISHED_GAMMA_GAMMA
    customers = []
    for _ in range(3000):
        x = rng.randint(1, 8)
        nu = rng.gammavariate(truth.q, 1 / truth.gamma)
        spends = [rng.gammavariate(truth.p, 1 / nu) for _ in range(x)]
        customers.append(CustomerSummary(x, 1.0, 2.0, sum(spends) / x))
    fit = fit_gamma_gamma(customers)
    assert fit.converged
    se = fit.standard_errors
    assert se is not None
    for name in ("p", "q", "gamma"):
        estimate, true = getattr(fit.params, name), getattr(truth, name)
        assert abs(estimate - true) < 3 * getattr(se, name), (name, estimate, true)


# --------------------------------------------------------------------------------------
# Model value
# --------------------------------------------------------------------------------------


def test_model_value_is_expected_purchases_times_expected_spend() -> None:
    customer = CustomerSummary(2, 30.43, 38.86, 22.35)
    purchases = bgnbd_conditional_expected_purchases(PUBLISHED_BGNBD, 52, 2, 30.43, 38.86)
    spend = gamma_gamma_expected_mean_value(PUBLISHED_GAMMA_GAMMA, 2, 22.35)
    value = model_value(PUBLISHED_BGNBD, PUBLISHED_GAMMA_GAMMA, customer, 52)
    assert value == pytest.approx(purchases * spend)
    # E[Y(52)] = 1.5587208064320880 (eq. 10 at 40 digits, mpmath); E[M] = 375.875 / 15.24.
    assert value == pytest.approx(1.558720806432088 * 375.875 / 15.24, rel=1e-12)  # 38.444


def test_model_value_discounted() -> None:
    customer = CustomerSummary(2, 30.43, 38.86, 22.35)
    undiscounted = model_value(PUBLISHED_BGNBD, PUBLISHED_GAMMA_GAMMA, customer, 52)
    weekly = model_value(PUBLISHED_BGNBD, PUBLISHED_GAMMA_GAMMA, customer, 52, discount_rate=0.002)
    assert weekly < undiscounted
    # One step: everything discounted from the horizon's end.
    one = model_value(
        PUBLISHED_BGNBD, PUBLISHED_GAMMA_GAMMA, customer, 52, discount_rate=0.002, steps=1
    )
    assert one == pytest.approx(undiscounted / 1.002**52)
    # Purchases spread over the year are discounted less than if all came at its end.
    assert weekly > one
    # A new customer is worth the population's expectation.
    new = model_value(PUBLISHED_BGNBD, PUBLISHED_GAMMA_GAMMA, CustomerSummary(0, 0, 0), 39)
    assert new == pytest.approx(1.1967231933208 * 35.2190, rel=1e-4)


# --------------------------------------------------------------------------------------
# Summaries and realised value
# --------------------------------------------------------------------------------------

HISTORY = [
    Purchase(date(2026, 1, 1), Decimal("100.00")),
    Purchase(datetime(2026, 1, 1, 17, 30, tzinfo=UTC), Decimal("50.00")),  # same day
    Purchase(date(2026, 1, 15), Decimal("200.00")),
    Purchase(date(2026, 2, 12), Decimal("100.00")),
    Purchase(date(2026, 3, 1), Decimal("999.00")),  # after the observation ends
]


def test_summarise_purchases() -> None:
    summary = summarise_purchases(HISTORY, observed_until=date(2026, 2, 26))
    # Days Jan 1 (150), Jan 15 (200), Feb 12 (100): two repeat purchases; the last 42 days
    # after the first; observed 56 days; mean repeat value (200 + 100) / 2.
    assert summary == CustomerSummary(frequency=2, recency=6.0, age=8.0, mean_value=150.0)
    in_days = summarise_purchases(HISTORY, observed_until=date(2026, 2, 26), period_days=1)
    assert in_days == CustomerSummary(2, 42.0, 56.0, 150.0)
    only_first = summarise_purchases(HISTORY, observed_until=date(2026, 1, 8))
    assert only_first == CustomerSummary(0, 0.0, 1.0, 0.0)
    assert summarise_purchases(HISTORY, observed_until=date(2025, 12, 31)) is None


def test_realised_value() -> None:
    assert realised_value(HISTORY) == Decimal("1449.00")
    assert realised_value(HISTORY, until=date(2026, 2, 26)) == Decimal("450.00")
    assert realised_value(HISTORY, since=date(2026, 1, 15), until=date(2026, 2, 12)) == Decimal(
        "300.00"
    )
    assert realised_value([]) == Decimal(0)


# --------------------------------------------------------------------------------------
# RFM
# --------------------------------------------------------------------------------------


def test_quintiles_of_distinct_values() -> None:
    values = {name: i for i, name in enumerate("abcdefghij", start=1)}
    assert list(quintile_scores(values).values()) == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    reversed_scores = quintile_scores(values, higher_is_better=False)
    assert list(reversed_scores.values()) == [5, 5, 4, 4, 3, 3, 2, 2, 1, 1]


def test_quintiles_share_a_score_among_ties() -> None:
    # Positions 0, 1, 2 share mean position 1 → 1 + ⌊5·1/5⌋ = 2; position 3 → 4; 4 → 5.
    assert quintile_scores({"a": 1, "b": 1, "c": 1, "d": 2, "e": 5}) == {
        "a": 2,
        "b": 2,
        "c": 2,
        "d": 4,
        "e": 5,
    }
    # Order of the input does not matter.
    assert quintile_scores({"e": 5, "c": 1, "d": 2, "a": 1, "b": 1}) == {
        "a": 2,
        "b": 2,
        "c": 2,
        "d": 4,
        "e": 5,
    }
    # All equal: the middle score.
    assert set(quintile_scores({k: 7 for k in "abcdefg"}).values()) == {3}
    # Fewer days since the last purchase is better: 30 → 1, 10 → 1 + ⌊5·1/3⌋ = 2,
    # 0 → 1 + ⌊5·2/3⌋ = 4.
    assert quintile_scores({"a": 0, "b": 10, "c": 30}, higher_is_better=False) == {
        "a": 4,
        "b": 2,
        "c": 1,
    }
    assert quintile_scores({}) == {}


def test_rfm_values() -> None:
    values = rfm_values(HISTORY, as_of=date(2026, 2, 26))
    # Four shipments up to Feb 26, the last on Feb 12.
    assert values == RfmValues(days_since_last=14, frequency=4, monetary=Decimal("450.00"))
    windowed = rfm_values(HISTORY, as_of=date(2026, 2, 26), window_days=42)
    # The window holds Jan 16 .. Feb 26: only Feb 12.
    assert windowed == RfmValues(14, 1, Decimal("100.00"))
    assert rfm_values(HISTORY, as_of=date(2025, 12, 1)) is None


def test_rfm_scores_and_segments_of_a_small_population() -> None:
    # Five customers, each metric distinct, so each score is the rank (1 worst .. 5 best).
    population = {
        "acme": RfmValues(2, 40, Decimal(90000)),
        "bolt": RfmValues(10, 1, Decimal(500)),
        "cargo": RfmValues(30, 20, Decimal(40000)),
        "delta": RfmValues(200, 30, Decimal(60000)),
        "echo": RfmValues(400, 5, Decimal(2000)),
    }
    scores = rfm_scores(population)
    assert scores == {
        "acme": RfmScore(5, 5, 5, RfmSegment.CHAMPIONS),
        "bolt": RfmScore(4, 1, 1, RfmSegment.PROMISING),
        "cargo": RfmScore(3, 3, 3, RfmSegment.NEED_ATTENTION),
        "delta": RfmScore(2, 4, 4, RfmSegment.AT_RISK),
        "echo": RfmScore(1, 2, 2, RfmSegment.LOST),
    }
    assert scores["delta"].code == "244"


@pytest.mark.parametrize(
    ("r", "f", "m", "segment"),
    [
        (5, 5, 5, RfmSegment.CHAMPIONS),
        (4, 4, 3, RfmSegment.CHAMPIONS),  # FM = ⌈3.5⌉ = 4
        (3, 5, 3, RfmSegment.LOYAL),
        (1, 5, 5, RfmSegment.CANNOT_LOSE),
        (2, 3, 4, RfmSegment.AT_RISK),
        (5, 1, 1, RfmSegment.NEW),
        (4, 1, 1, RfmSegment.PROMISING),
        (5, 1, 2, RfmSegment.POTENTIAL_LOYALIST),  # FM = ⌈1.5⌉ = 2
        (3, 3, 3, RfmSegment.NEED_ATTENTION),
        (3, 1, 2, RfmSegment.ABOUT_TO_SLEEP),
        (2, 2, 1, RfmSegment.HIBERNATING),
        (1, 1, 1, RfmSegment.LOST),
    ],
)
def test_rfm_segment_rules(r: int, f: int, m: int, segment: RfmSegment) -> None:
    assert rfm_segment(r, f, m) is segment


def test_rfm_segments_cover_every_cell() -> None:
    seen = {rfm_segment(r, f, m) for r in range(1, 6) for f in range(1, 6) for m in range(1, 6)}
    assert seen == set(RfmSegment)
    with pytest.raises(InvalidValue):
        rfm_segment(0, 3, 3)


# --------------------------------------------------------------------------------------
# Retention, dormancy, loyalty
# --------------------------------------------------------------------------------------


def test_periods() -> None:
    assert month_period(date(2026, 2, 1)) - month_period(date(2026, 1, 31)) == 1
    assert month_period(date(2026, 1, 1)) - month_period(date(2025, 12, 31)) == 1
    origin = date(2026, 1, 1)
    assert fixed_period(date(2026, 1, 7), origin=origin, days=7) == 0
    assert fixed_period(date(2026, 1, 8), origin=origin, days=7) == 1
    assert fixed_period(date(2025, 12, 31), origin=origin, days=7) == -1
    days = [date(2026, 1, 3), date(2026, 1, 30), date(2026, 3, 2)]
    assert active_periods(days, month_period) == {
        month_period(date(2026, 1, 1)),
        month_period(date(2026, 3, 1)),
    }


def test_retention_rates() -> None:
    activity = {"A": {1, 2, 3}, "B": {1, 3, 4}, "C": {2, 3, 4}, "D": {4}}
    rates = retention_rates(activity, first=1, last=4)
    # k=1: A, B active; A again in 2.  k=2: A, C; both in 3.  k=3: A, B, C; B, C in 4.
    assert rates == [
        RetentionRate(period=1, active=2, retained=1),
        RetentionRate(period=2, active=2, retained=2),
        RetentionRate(period=3, active=3, retained=2),
    ]
    assert [rate.rate for rate in rates] == [0.5, 1.0, pytest.approx(2 / 3)]
    assert rates[2].churned == 1
    assert retention_rates(activity, first=5, last=6) == [RetentionRate(5, 0, 0)]
    assert retention_rates(activity, first=5, last=6)[0].rate is None


def test_dormancy() -> None:
    policy = DormancyPolicy(dormant_after_days=90, lost_after_days=365)
    last = date(2026, 1, 1)
    assert policy.status(last, date(2026, 1, 1)) is Lifecycle.ACTIVE
    assert policy.status(last, date(2026, 3, 31)) is Lifecycle.ACTIVE  # 89 days
    assert policy.status(last, date(2026, 4, 1)) is Lifecycle.DORMANT  # 90 days
    assert policy.status(last, date(2026, 12, 31)) is Lifecycle.DORMANT  # 364 days
    assert policy.status(last, date(2027, 1, 1)) is Lifecycle.LOST  # 365 days
    assert policy.status(None, date(2027, 1, 1)) is None
    stamped = datetime(2026, 1, 1, 23, 59, tzinfo=UTC)
    assert policy.status(stamped, datetime(2026, 4, 1, 0, 1, tzinfo=UTC)) is Lifecycle.DORMANT
    assert days_without_business(last, date(2026, 4, 1)) == 90
    with pytest.raises(InvalidValue):
        days_without_business(last, date(2025, 12, 31))
    with pytest.raises(InvalidValue):
        DormancyPolicy(dormant_after_days=90, lost_after_days=90)
    assert DormancyPolicy(30, 60).status(last, date(2026, 2, 15)) is Lifecycle.DORMANT  # 45


def test_loyalty() -> None:
    periods = {1, 2, 4, 5, 6, 9}
    assert loyalty(periods, through=10) == Loyalty(
        first_period=1,
        tenure=10,
        periods_active=6,
        share_active=0.6,
        current_streak=0,
        longest_streak=3,
    )
    assert loyalty(periods, through=6) == Loyalty(1, 6, 5, 5 / 6, 3, 3)
    assert loyalty(periods, through=1) == Loyalty(1, 1, 1, 1.0, 1, 1)
    assert loyalty({12}, through=10) is None


# --------------------------------------------------------------------------------------
# Refusals
# --------------------------------------------------------------------------------------


def test_invalid_inputs_are_refused() -> None:
    with pytest.raises(InvalidValue):
        BgNbdParams(0.0, 1.0, 1.0, 1.0)
    with pytest.raises(InvalidValue):
        GammaGammaParams(1.0, 1.0, math.inf)
    with pytest.raises(InvalidValue):
        CustomerSummary(2, 40.0, 30.0)  # recency after the end of observation
    with pytest.raises(InvalidValue):
        CustomerSummary(0, 3.0, 30.0)  # recency without a repeat purchase
    with pytest.raises(InvalidValue):
        bgnbd_conditional_expected_purchases(PUBLISHED_BGNBD, -1, 0, 0, 10)
    with pytest.raises(InvalidValue):
        gamma_gamma_population_mean(GammaGammaParams(1.0, 0.5, 1.0))
    with pytest.raises(InvalidValue):
        fit_bgnbd([])
    with pytest.raises(InvalidValue):
        fit_gamma_gamma([CustomerSummary(0, 0, 10)])
    with pytest.raises(InvalidValue):
        fit_gamma_gamma([CustomerSummary(2, 1, 10, 0.0)])
